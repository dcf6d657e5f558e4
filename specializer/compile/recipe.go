package compile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"specbed/images"
)

//go:embed kmod/main.c kmod/Kbuild
var kmodFiles embed.FS

// recipeVersion changes whenever the recorded form changes, so that old
// recipes are not read.
const recipeVersion = "specbed-compile-recipe/1"

// recipe is one recorded kbuild of the residual module: the command lines
// kbuild ran, with every path inside Dir, the folder that keeps the
// sources and the objects that do not depend on the residual.
type recipe struct {
	Version string
	Kernel  string // images.Kernel.Key
	Dir     string
	// Compile builds residual.o; Link joins the objects (Objects, in
	// kbuild's order) into the module object; Modpost checks its symbols
	// and writes the .mod.c; ModCompile compiles that; Ko links the .ko.
	Compile, Link, Modpost, ModCompile, Ko string
	Objects                                []string
	// ModC is the .mod.c modpost wrote for the recorded module: a residual
	// whose .mod.c is the same reuses the recorded .mod.o.
	ModC string
}

// perBuild are the files a residual build writes: commands name them in
// the scratch folder instead of the recipe's folder.
var perBuild = []string{
	"residual.c", "residual.o", ".residual.o.d",
	moduleName + ".o", moduleName + ".mod", moduleName + ".mod.c", moduleName + ".mod.o",
	"." + moduleName + ".mod.o.d", moduleName + ".ko", "modules.order", "Module.symvers",
}

// key identifies a recipe: kernel, generic files, module main, format.
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
	args := append([]string{"-C", d.kernel.BuildDir, "M=" + tmp}, images.KbuildVars(d.platform)...)
	args = append(args, "-j2", "modules")
	if err := run(ctx, "kbuild", tmp, "make", args...); err != nil {
		return nil, err
	}
	r, err := readRecipe(tmp)
	if err != nil {
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

// stage writes the module's sources into dir: the generic headers and
// shim, the module main, and a placeholder residual.
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
	placeholder := "/* Placeholder residual: the recorded build compiles it like any residual. */\n#include \"generic.h\"\n" +
		entryTail("specnet_recipe")
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
	modc, err := os.ReadFile(filepath.Join(dir, moduleName+".mod.c"))
	if err != nil {
		return nil, err
	}
	r.ModC = string(modc)
	return r, nil
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
	for _, s := range []*string{&r.Compile, &r.Link, &r.Modpost, &r.ModCompile, &r.Ko} {
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

// build runs the recorded commands on res in scratch and returns the
// unsigned .ko's path.
func (r *recipe) build(ctx context.Context, buildDir, scratch string, res Residual) (string, error) {
	src := append(append([]byte{}, res.C...), entryTail(res.Entry)...)
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
	if err := sh("compile residual", r.Compile); err != nil {
		return "", err
	}
	if err := sh("link", r.Link); err != nil {
		return "", err
	}
	if err := sh("modpost", r.Modpost); err != nil {
		return "", err
	}
	if err := r.modObject(ctx, scratch, sh); err != nil {
		return "", err
	}
	if err := sh("link module", r.Ko); err != nil {
		return "", err
	}
	return ko, nil
}

// modObject provides the .mod.o: the recorded one when modpost wrote the
// same .mod.c (the residual uses no symbol the recorded module did not),
// else a fresh compile.
func (r *recipe) modObject(ctx context.Context, scratch string, sh func(step, cmd string) error) error {
	modc, err := os.ReadFile(filepath.Join(scratch, moduleName+".mod.c"))
	if err != nil {
		return err
	}
	if !bytes.Equal(modc, []byte(r.ModC)) {
		return sh("compile .mod.c", r.ModCompile)
	}
	obj, err := os.ReadFile(filepath.Join(r.Dir, moduleName+".mod.o"))
	if err != nil {
		return errors.Join(errors.New("recorded .mod.o"), err)
	}
	return os.WriteFile(filepath.Join(scratch, moduleName+".mod.o"), obj, 0o644)
}
