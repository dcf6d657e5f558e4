package ir

// Inspect visits n and its descendants depth-first, in source order; when f returns false the
// node's children are skipped. Case bodies are visited as their statements.
func Inspect(n Node, f func(Node) bool) {
	if n == nil || !f(n) {
		return
	}
	visit := func(ns ...Node) {
		for _, c := range ns {
			if c != nil {
				Inspect(c, f)
			}
		}
	}
	switch n := n.(type) {
	case *Unary:
		visit(n.X)
	case *Binary:
		visit(n.X, n.Y)
	case *Cond:
		visit(n.C, n.X, n.Y)
	case *Cast:
		visit(n.X)
	case *Member:
		visit(n.X)
	case *Index:
		visit(n.X, n.I)
	case *Deref:
		visit(n.X)
	case *AddrOf:
		visit(n.X)
	case *Assign:
		visit(n.L, n.R)
	case *IncDec:
		visit(n.X)
	case *Call:
		visit(n.Fn)
		for _, a := range n.Args {
			visit(a)
		}
	case *Comma:
		visit(n.X, n.Y)
	case *Block:
		for _, s := range n.Stmts {
			visit(s)
		}
	case *Decl:
		visit(n.Init)
		for _, e := range n.List {
			visit(e.X)
		}
	case *ExprStmt:
		visit(n.X)
	case *If:
		visit(n.Cond, n.Then, n.Else)
	case *While:
		visit(n.Cond, n.Body)
	case *DoWhile:
		visit(n.Body, n.Cond)
	case *For:
		visit(n.Init, n.Cond, n.Post, n.Body)
	case *Switch:
		visit(n.X)
		for _, c := range n.Cases {
			for _, s := range c.Body {
				visit(s)
			}
		}
	case *Return:
		visit(n.X)
	}
}
