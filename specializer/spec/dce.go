package spec

import "specbed/specializer/ir"

// removeDeadStores deletes assignments to residual locals that nothing reads (the values that
// were lifted into memory for a merge whose continuation never uses them, say). An assignment
// whose right-hand side has effects keeps them as an expression statement.
func removeDeadStores(b *ir.Block) {
	for {
		reads := map[*ir.Var]bool{}
		ir.Inspect(b, func(n ir.Node) bool {
			switch n := n.(type) {
			case *ir.VarRef:
				reads[n.Var] = true
			case *ir.Assign:
				if n.Op != 0 {
					markReads(n.L, reads)
				} else if lvalRoot(n.L) == nil {
					markReads(n.L, reads)
				} else {
					markIndexReads(n.L, reads)
				}
				markReads(n.R, reads)
				return false
			}
			return true
		})
		if !prune(b, reads) {
			return
		}
	}
}

func markReads(e ir.Expr, reads map[*ir.Var]bool) {
	ir.Inspect(e, func(n ir.Node) bool {
		switch n := n.(type) {
		case *ir.VarRef:
			reads[n.Var] = true
		case *ir.Assign:
			markReads(n.L, reads)
			markReads(n.R, reads)
			return false
		}
		return true
	})
}

// markIndexReads marks what an lvalue rooted at a variable reads besides the variable: indices.
func markIndexReads(e ir.Expr, reads map[*ir.Var]bool) {
	switch e := e.(type) {
	case *ir.Member:
		markIndexReads(e.X, reads)
	case *ir.Index:
		markIndexReads(e.X, reads)
		markReads(e.I, reads)
	}
}

// lvalRoot returns the local variable an lvalue stores into (through members and array
// elements, not through pointers), or nil.
func lvalRoot(e ir.Expr) *ir.Var {
	switch e := e.(type) {
	case *ir.VarRef:
		if e.Var.Kind == ir.Local {
			return e.Var
		}
	case *ir.Member:
		if !e.Arrow {
			return lvalRoot(e.X)
		}
	case *ir.Index:
		if _, arr := e.X.Type().(*ir.ArrayType); arr {
			return lvalRoot(e.X)
		}
	}
	return nil
}

// prune removes dead stores from a statement tree; it reports whether it removed any.
func prune(s ir.Stmt, reads map[*ir.Var]bool) bool {
	changed := false
	switch s := s.(type) {
	case *ir.Block:
		out := s.Stmts[:0]
		for _, c := range s.Stmts {
			if es, ok := c.(*ir.ExprStmt); ok {
				if a, ok := es.X.(*ir.Assign); ok && a.Op == 0 {
					if v := lvalRoot(a.L); v != nil && !reads[v] {
						changed = true
						if hasEffects(a.R) {
							out = append(out, &ir.ExprStmt{S: es.S, X: a.R})
						}
						continue
					}
				}
			}
			if b, ok := c.(*ir.Block); ok && len(b.Stmts) == 0 {
				continue
			}
			changed = prune(c, reads) || changed
			out = append(out, c)
		}
		s.Stmts = out
	case *ir.If:
		changed = prune(s.Then, reads)
		if s.Else != nil {
			changed = prune(s.Else, reads) || changed
		}
	case *ir.For:
		changed = prune(s.Body, reads)
	case *ir.Switch:
		for _, c := range s.Cases {
			b := &ir.Block{Stmts: c.Body}
			changed = prune(b, reads) || changed
			c.Body = b.Stmts
		}
	}
	return changed
}
