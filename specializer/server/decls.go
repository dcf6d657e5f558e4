package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"

	"specbed/images"
	"specbed/specializer"
	"specbed/specializer/ctxschema"
	"specbed/specializer/decl"
	"specbed/specializer/ir"
)

// declaration is one loaded declaration file: the analysed unit and what
// the cache key needs from it.
type declaration struct {
	id   string
	path string
	unit *specializer.Unit
	// tree is the TreeHash of the declaration's folder: the declaration
	// file and the generic sources and headers beside it.
	tree string
	// instanceKeys are the context keys whose values only select the
	// per-instance objects the module binds at load time.
	instanceKeys map[string]bool
}

func loadDeclaration(id, path string) (*declaration, error) {
	u, err := specializer.Load(path)
	if err != nil {
		return nil, fmt.Errorf("declaration %s: %w", id, err)
	}
	tree, err := images.TreeHash(filepath.Dir(path), nil)
	if err != nil {
		return nil, fmt.Errorf("declaration %s: %w", id, err)
	}
	keys := map[string]bool{}
	for _, k := range InstanceKeys(u.Decl) {
		keys[k] = true
	}
	return &declaration{id: id, path: path, unit: u, tree: tree, instanceKeys: keys}, nil
}

// InstanceKeys returns the context keys of r whose values are per-instance:
// static parameters and globals that the generic program uses only as
// arguments of bound lookups (a socket's descriptor: shim_sockfd_lookup(fd)
// folds to inst->sock, filled when the module binds a socket). The residual
// of two contexts that differ only there is the same code, so the cache
// leaves them out of its key.
func InstanceKeys(r *decl.Resolved) []string {
	candidates := map[*ir.Var]string{}
	for _, k := range r.ContextKeys() {
		root := r.Roots[k]
		if root == nil || root.Kind == decl.RootBound || root.Class != decl.Static || root.Var == nil {
			continue
		}
		if _, ok := root.Type.(*ir.IntType); ok {
			candidates[root.Var] = k
		}
	}
	used := map[*ir.Var]bool{}  // seen as a bound lookup's argument
	other := map[*ir.Var]bool{} // seen anywhere else
	var visit func(n ir.Node) bool
	visit = func(n ir.Node) bool {
		switch n := n.(type) {
		case *ir.VarRef:
			if _, ok := candidates[n.Var]; ok {
				other[n.Var] = true
			}
		case *ir.Call:
			f := n.Callee()
			if f == nil || r.Lookups[f.Name] == nil || !r.Lookups[f.Name].Bound {
				return true
			}
			for _, a := range n.Args {
				if v := refThroughCasts(a); v != nil {
					if _, ok := candidates[v]; ok {
						used[v] = true
						continue
					}
				}
				ir.Inspect(a, visit)
			}
			return false
		}
		return true
	}
	for _, f := range r.Prog.Funcs {
		if f.Body != nil {
			ir.Inspect(f.Body, visit)
		}
	}
	var keys []string
	for v, k := range candidates {
		if used[v] && !other[v] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// refThroughCasts returns the variable e names, looking through
// conversions, or nil.
func refThroughCasts(e ir.Expr) *ir.Var {
	for {
		switch x := e.(type) {
		case *ir.Cast:
			e = x.X
		case *ir.VarRef:
			return x.Var
		default:
			return nil
		}
	}
}

// cacheKey is the hex SHA-256 of what a module depends on: the kernel,
// the declaration's folder (declaration and generic sources), the
// declaration id, the context without its per-instance values, and the
// context's digest the module embeds (compile.ContextDigest: the same for
// contexts that differ only in per-instance values).
func (d *declaration) cacheKey(kernelKey string, ctx *ctxschema.Context, digest uint64) string {
	invariant := &ctxschema.Context{Values: map[string]ctxschema.Value{}}
	for k, v := range ctx.Values {
		if !d.instanceKeys[k] {
			invariant.Values[k] = v
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "specbed-server-cache/2\nkernel %s\ntree %s\ndecl %s\ncontext %s\ndigest %016x\n",
		kernelKey, d.tree, d.id, ctxschema.Rehash(invariant), digest)
	return hex.EncodeToString(h.Sum(nil))
}
