package compile

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"specbed/images"
	"specbed/images/specnet/core"
)

// Files the driver adds to the recorded module's sources: the core's
// registration header (kmod/main.c includes it) and the core's exports
// for modpost (KBUILD_EXTRA_SYMBOLS).
const (
	residualHeader = "specnet_residual.h"
	coreSymvers    = "core.symvers"
)

// The kernel headers a residual's inline shim effects need (kernelHeaders,
// images/specnet/generic/shim_inline_kernel.h) took ~0.7 s of every
// residual's compile when parsed afresh: most of a cold specialization.
// The recipe precompiles them once into precompiledHeader+".gch", and a
// residual's compile includes that first. Nothing named precompiledHeader
// exists beside it, so a compile that cannot use the .gch fails with GCC's
// reason (-Werror=invalid-pch) instead of quietly parsing the headers.
const (
	kernelHeaders     = "shim_inline_kernel.h"
	precompiledHeader = "kernel_headers.h"
)

//go:embed kmod/main.c kmod/Kbuild
var kmodFiles embed.FS

// recipeVersion changes whenever the recorded form changes, so that old
// recipes are not read.
const recipeVersion = "specbed-compile-recipe/3"

// recipe is one recorded kbuild of the residual module: the command lines
// kbuild ran, with every path inside Dir, the folder that keeps the
// sources and the objects that do not depend on the residual.
type recipe struct {
	Version string
	Kernel  string // images.Kernel.Key
	Dir     string
	// Precompile makes the kernel headers' .gch; Compile builds
	// residual.o with it; Link joins the objects (Objects, in kbuild's
	// order) into the module object; Modpost checks its symbols and
	// writes the .mod.c; ModCompile compiles that; Ko links the .ko.
	Precompile, Compile, Link, Modpost, ModCompile, Ko string
	Objects                                            []string
}

// perBuild are the files a residual build writes: commands name them in
// the scratch folder instead of the recipe's folder.
var perBuild = []string{
	"residual.c", "residual.o", ".residual.o.d",
	moduleName + ".o", moduleName + ".mod", moduleName + ".mod.c", moduleName + ".mod.o",
	"." + moduleName + ".mod.o.d", moduleName + ".ko", "modules.order", "Module.symvers",
}

// key identifies a recipe: kernel, generic files, module main, the core's
// interface, format.
func (d *Driver) key() (string, error) {
	src, err := images.TreeHash(d.generic, genericFile)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", recipeVersion, d.kernel.Key, src)
	for _, name := range []string{"kmod/main.c", "kmod/Kbuild"} {
		data, err := kmodFiles.ReadFile(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(data))
		h.Write(data)
	}
	symvers, err := core.Symvers(d.generic)
	if err != nil {
		return "", err
	}
	// In a fixed order: the key names the recipe's folder, whose path
	// is in every residual's debug info and so in its build ID and
	// signature; a key that moved would change a module's bytes, and
	// with them the count-mode instructions of the boot that loads it.
	for _, f := range []struct {
		name string
		data []byte
	}{{residualHeader, core.ResidualHeader}, {coreSymvers, symvers}} {
		fmt.Fprintf(h, "%s\x00%d\x00", f.name, len(f.data))
		h.Write(f.data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// record returns the cached recipe or runs kbuild once to make it.
func (d *Driver) record(ctx context.Context) (*recipe, error) {
	key, err := d.key()
	if err != nil {
		return nil, err
	}
	parent := filepath.Join(d.cache, "recipes")
	final := filepath.Join(parent, d.kernel.Platform+"-"+key[:16])
	if r, err := loadRecipe(final); err == nil {
		return r, nil
	}
	if err := d.kernel.CheckBuildDir(); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, ".record-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := d.stage(tmp); err != nil {
		return nil, err
	}
	args := append([]string{"-C", d.kernel.BuildDir, "M=" + tmp, "KBUILD_EXTRA_SYMBOLS=" + filepath.Join(tmp, coreSymvers)},
		images.KbuildVars(d.platform)...)
	args = append(args, "-j2", "modules")
	if err := run(ctx, "kbuild", tmp, "make", args...); err != nil {
		return nil, err
	}
	r, err := readRecipe(tmp)
	if err != nil {
		return nil, err
	}
	if err := run(ctx, "precompile kernel headers", d.kernel.BuildDir, "sh", "-c", r.Precompile); err != nil {
		return nil, err
	}
	r.Kernel = d.kernel.Key
	r.relocate(tmp, final)
	data, err := json.MarshalIndent(r, "", "\t")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "recipe.json"), data, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process recorded the same recipe meanwhile.
		if r, lerr := loadRecipe(final); lerr == nil {
			return r, nil
		}
		return nil, err
	}
	return r, nil
}

// stage writes the module's sources into dir: the generic headers, the
// module main, the core's interface and a placeholder residual.
func (d *Driver) stage(dir string) error {
	entries, err := os.ReadDir(d.generic)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !genericFile(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(d.generic, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	for _, name := range []string{"main.c", "Kbuild"} {
		data, err := kmodFiles.ReadFile("kmod/" + name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	symvers, err := core.Symvers(d.generic)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{residualHeader: core.ResidualHeader, coreSymvers: symvers} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	placeholder := "/* Placeholder residual: the recorded build compiles it like any residual. */\n#include \"generic.h\"\n" +
		"int specnet_recipe(struct sn_inst *inst, const u8 __user *buf, u32 len, u32 flags) { return 0; }\n" +
		entryTail("specnet_recipe", 0)
	return os.WriteFile(filepath.Join(dir, "residual.c"), []byte(placeholder), 0o644)
}

// readRecipe reads the commands kbuild saved in dir's .cmd files.
func readRecipe(dir string) (*recipe, error) {
	r := &recipe{Version: recipeVersion, Dir: dir}
	for _, c := range []struct {
		target string
		dst    *string
	}{
		{"residual.o", &r.Compile},
		{moduleName + ".o", &r.Link},
		{"Module.symvers", &r.Modpost},
		{moduleName + ".mod.o", &r.ModCompile},
		{moduleName + ".ko", &r.Ko},
	} {
		cmd, err := savedCommand(dir, c.target)
		if err != nil {
			return nil, err
		}
		*c.dst = cmd
	}
	objs, err := os.ReadFile(filepath.Join(dir, moduleName+".mod"))
	if err != nil {
		return nil, err
	}
	r.Objects = strings.Fields(string(objs))
	if _, err := rename(r.ModCompile, residualNamePrefix+"0"); err != nil {
		return nil, err
	}
	if r.Precompile, r.Compile, err = precompiled(r.Compile, dir); err != nil {
		return nil, err
	}
	return r, nil
}

// forcedIncludes are the headers kbuild's command lines force in before
// the source (-include linux/compiler-version.h, kconfig.h,
// compiler_types.h).
var forcedIncludes = regexp.MustCompile(`(?:-include \S+ +)+`)

// precompiled turns the recorded compile of the residual in dir into the
// command that precompiles kernelHeaders and the compile that uses it.
// GCC uses a .gch only with the flags it was made with, and only before
// the first declaration: compiler_types.h, which kbuild forces in, has
// some. So the .gch is made by the recorded command itself, kbuild's
// forced headers first, and the compile includes it in their place.
func precompiled(compile, dir string) (pch, use string, err error) {
	object := "-o " + filepath.Join(dir, "residual.o") + " " + filepath.Join(dir, "residual.c")
	deps := "-Wp,-MMD," + filepath.Join(dir, ".residual.o.d") + " "
	forced := forcedIncludes.FindAllStringIndex(compile, -1)
	if strings.Count(compile, object) != 1 || strings.Count(compile, deps) != 1 || len(forced) != 1 {
		return "", "", fmt.Errorf("recorded compile is not of the form precompiling needs "+
			"(one %q, one %q, one run of -include): %.300q", object, deps, compile)
	}
	pch = strings.Replace(compile, object, "-x c-header -o "+filepath.Join(dir, precompiledHeader+".gch")+" "+
		filepath.Join(dir, kernelHeaders), 1)
	pch = strings.Replace(pch, deps, "", 1)
	at := forced[0]
	use = compile[:at[0]] + "-include " + filepath.Join(dir, precompiledHeader) + " -Werror=invalid-pch " + compile[at[1]:]
	return pch, use, nil
}

// savedCommand reads the command kbuild recorded for target in dir/.target.cmd
// ("cmd_PATH := COMMAND" or, in newer kernels, "savedcmd_PATH := COMMAND"),
// undoing make's escapes.
func savedCommand(dir, target string) (string, error) {
	path := filepath.Join(dir, "."+target+".cmd")
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", target, err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	for _, prefix := range []string{"cmd_", "savedcmd_"} {
		head := prefix + filepath.Join(dir, target) + " := "
		if cmd, ok := strings.CutPrefix(first, head); ok {
			cmd = strings.ReplaceAll(cmd, "$(pound)", "#")
			return strings.ReplaceAll(cmd, "$$", "$"), nil
		}
	}
	return "", fmt.Errorf("%s: %w (first line of %s: %.80q)", target, errNoCommand, path, first)
}

// relocate rewrites every path from the recording folder to the final one.
func (r *recipe) relocate(from, to string) {
	for _, s := range []*string{&r.Precompile, &r.Compile, &r.Link, &r.Modpost, &r.ModCompile, &r.Ko} {
		*s = strings.ReplaceAll(*s, from, to)
	}
	for i := range r.Objects {
		r.Objects[i] = strings.ReplaceAll(r.Objects[i], from, to)
	}
	r.Dir = to
}

func loadRecipe(dir string) (*recipe, error) {
	data, err := os.ReadFile(filepath.Join(dir, "recipe.json"))
	if err != nil {
		return nil, err
	}
	var r recipe
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if r.Version != recipeVersion || r.Dir != dir {
		return nil, fmt.Errorf("%s: recipe of another format or folder", dir)
	}
	return &r, nil
}

// rebase points a recorded command's per-build files into scratch.
func (r *recipe) rebase(cmd, scratch string) string {
	for _, name := range perBuild {
		cmd = strings.ReplaceAll(cmd, filepath.Join(r.Dir, name), filepath.Join(scratch, name))
	}
	return cmd
}

// modnameFlags are the flags by which kbuild names the module an object
// belongs to (scripts/Makefile.lib), with %s for the name.
var modnameFlags = []string{`-DKBUILD_MODNAME='"%s"'`, `-D__KBUILD_MODNAME=kmod_%s`}

// rename makes a recorded compile command name module name instead of
// the recorded one. The module's name is compiled into its .mod.o
// (__this_module.name, .modinfo "name="), so a renamed .mod.c makes a
// module of that name.
func rename(cmd, name string) (string, error) {
	for _, f := range modnameFlags {
		from, to := fmt.Sprintf(f, moduleName), fmt.Sprintf(f, name)
		if !strings.Contains(cmd, from) {
			return "", fmt.Errorf("recorded command lacks %s: %.200q", from, cmd)
		}
		cmd = strings.ReplaceAll(cmd, from, to)
	}
	return cmd, nil
}

// build runs the recorded commands on res in scratch and returns the
// unsigned .ko's path; the module is called name.
func (r *recipe) build(ctx context.Context, buildDir, scratch string, res Residual, name string) (string, error) {
	src := append(append([]byte{}, res.C...), entryTail(res.Entry, res.Digest)...)
	if err := os.WriteFile(filepath.Join(scratch, "residual.c"), src, 0o644); err != nil {
		return "", err
	}
	objs := make([]string, len(r.Objects))
	for i, o := range r.Objects {
		objs[i] = r.rebase(o, scratch)
	}
	ko := filepath.Join(scratch, moduleName+".ko")
	for name, data := range map[string]string{
		moduleName + ".mod": strings.Join(objs, "\n") + "\n",
		"modules.order":     ko + "\n",
	} {
		if err := os.WriteFile(filepath.Join(scratch, name), []byte(data), 0o644); err != nil {
			return "", err
		}
	}
	sh := func(step, cmd string) error {
		return run(ctx, step, buildDir, "sh", "-c", r.rebase(cmd, scratch))
	}
	// Only the .mod.c is compiled under the module's own name: the name
	// of the module is its .mod.o's. residual.o keeps the recorded one,
	// like main.o, because the precompiled headers were made with it.
	modCompile, err := rename(r.ModCompile, name)
	if err != nil {
		return "", err
	}
	if err := sh("compile residual", r.Compile); err != nil {
		return "", err
	}
	if err := sh("link", r.Link); err != nil {
		return "", err
	}
	if err := sh("modpost", r.Modpost); err != nil {
		return "", err
	}
	if err := sh("compile .mod.c", modCompile); err != nil {
		return "", err
	}
	if err := sh("link module", r.Ko); err != nil {
		return "", err
	}
	return ko, nil
}
