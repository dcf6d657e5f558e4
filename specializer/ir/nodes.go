package ir

import "fmt"

// Pos is a source position. Line and Col count from 1; Col 0 means "whole line".
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// PosError is an error at a source position.
type PosError struct {
	Pos Pos
	Msg string
}

func (e *PosError) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errorf returns a *PosError.
func Errorf(p Pos, format string, args ...any) error {
	return &PosError{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// Node is any IR node.
type Node interface{ At() Pos }

// Expr is a typed expression.
type Expr interface {
	Node
	Type() Type
	expr()
}

// E holds what every expression has.
type E struct {
	T Type
	P Pos
}

func (e *E) Type() Type { return e.T }
func (e *E) At() Pos    { return e.P }
func (*E) expr()        {}

// Const is an integer constant (or a null pointer when T is a pointer). Val is the canonical
// bit pattern of T (see IntType.Wrap); for pointers it is 0.
type Const struct {
	E
	Val uint64
}

// VarRef names a variable (an lvalue).
type VarRef struct {
	E
	Var *Var
}

// FuncRef names a function; its type is a pointer to the function's type.
type FuncRef struct {
	E
	Func *Func
}

// UnOp is a unary operator.
type UnOp int

const (
	Neg    UnOp = iota // -x
	BitNot             // ~x
	LogNot             // !x (int result)
)

// BinOp is a binary operator.
type BinOp int

const (
	Add BinOp = iota + 1
	Sub
	Mul
	Div
	Mod
	Shl
	Shr
	And
	Or
	Xor
	Eq
	Ne
	Lt
	Le
	Gt
	Ge
	LogAnd
	LogOr
)

var binOpText = map[BinOp]string{Add: "+", Sub: "-", Mul: "*", Div: "/", Mod: "%", Shl: "<<", Shr: ">>",
	And: "&", Or: "|", Xor: "^", Eq: "==", Ne: "!=", Lt: "<", Le: "<=", Gt: ">", Ge: ">=", LogAnd: "&&", LogOr: "||"}

func (o BinOp) String() string { return binOpText[o] }

func (o UnOp) String() string { return [...]string{"-", "~", "!"}[o] }

// IsCompare reports whether o is a comparison (result int 0 or 1).
func (o BinOp) IsCompare() bool { return o >= Eq && o <= Ge }

// Unary is -x, ~x or !x. Operands of - and ~ are already promoted.
type Unary struct {
	E
	Op UnOp
	X  Expr
}

// Binary is a binary operation. For arithmetic and bitwise operators both operands have
// the result type (conversions are explicit Casts); shifts have a promoted left operand and an
// independently promoted right one; comparisons convert both operands to a common type and yield
// int; && and || take scalars and yield int. Pointer arithmetic: Add/Sub with a pointer X and an
// integer Y (scaled by the pointee size), or Sub of two pointers (result int).
type Binary struct {
	E
	Op   BinOp
	X, Y Expr
}

// Cond is c ? x : y; x and y have the result type.
type Cond struct {
	E
	C, X, Y Expr
}

// Cast converts X to T. Implicit casts were inserted by the parser for C's implicit conversions;
// the printer may omit them because C re-applies them.
type Cast struct {
	E
	X        Expr
	Implicit bool
}

// Member is X.Field (Arrow false: X is a struct lvalue) or X->Field (Arrow true: X is a pointer
// to a struct).
type Member struct {
	E
	X     Expr
	Field *Field
	Arrow bool
}

// Index is X[I]: X is an array lvalue or a pointer; I an integer.
type Index struct {
	E
	X, I Expr
}

// Deref is *X.
type Deref struct {
	E
	X Expr
}

// AddrOf is &X (X an lvalue, or a function).
type AddrOf struct {
	E
	X Expr
}

// Assign is L = R (Op 0) or L op= R. For plain assignment R has L's type. For compound
// assignment R has OpType, the type the operation is computed in (for shifts, R is promoted
// on its own and OpType is the promoted type of L); the result is converted back to L's type.
type Assign struct {
	E
	Op     BinOp
	L, R   Expr
	OpType Type
}

// IncDec is ++x, --x, x++ or x--.
type IncDec struct {
	E
	X    Expr
	Inc  bool
	Post bool
}

// Call is a call. Fn is a *FuncRef for a direct call, or a pointer-to-function expression.
// Args are converted to the parameter types.
type Call struct {
	E
	Fn   Expr
	Args []Expr
}

// Comma is X, Y.
type Comma struct {
	E
	X, Y Expr
}

// Callee returns the function a call names directly, or nil for an indirect call.
func (c *Call) Callee() *Func {
	if f, ok := c.Fn.(*FuncRef); ok {
		return f.Func
	}
	return nil
}

// Stmt is a statement.
type Stmt interface {
	Node
	stmt()
}

// S holds what every statement has.
type S struct{ P Pos }

func (s *S) At() Pos { return s.P }
func (*S) stmt()     {}

// Block is { ... }.
type Block struct {
	S
	Stmts []Stmt
}

// Decl declares a local. Init, when not nil, is its initializing expression; List, when not nil,
// is an initializer list (the object is zeroed, then the listed elements are set).
type Decl struct {
	S
	Var  *Var
	Init Expr
	List []InitElem
}

// InitElem is one element of an initializer list: the scalar at Path inside the object gets X.
type InitElem struct {
	Path []Step
	X    Expr
}

// Step selects a member or an element inside an object.
type Step struct {
	Field *Field // when not nil: member
	Index int64  // otherwise: element
}

// ExprStmt is an expression statement.
type ExprStmt struct {
	S
	X Expr
}

// If is if (Cond) Then else Else; Else may be nil.
type If struct {
	S
	Cond Expr
	Then Stmt
	Else Stmt
}

// While is while (Cond) Body.
type While struct {
	S
	Cond Expr
	Body Stmt
}

// DoWhile is do Body while (Cond).
type DoWhile struct {
	S
	Body Stmt
	Cond Expr
}

// For is for (Init; Cond; Post) Body. Init is a *Decl, an *ExprStmt, a *Block of Decls or nil;
// Cond and Post may be nil.
type For struct {
	S
	Init Stmt
	Cond Expr
	Post Expr
	Body Stmt
}

// Switch is switch (X) { Cases }. Every case body ends in a jump (no fall-through into
// statements), so the cases are independent.
type Switch struct {
	S
	X     Expr
	Cases []*Case
}

// Case is a group of case labels (Vals, in X's promoted type) and/or default, and its body.
type Case struct {
	P       Pos
	Vals    []uint64
	Default bool
	Body    []Stmt
}

func (c *Case) At() Pos { return c.P }

// Break is break.
type Break struct{ S }

// Continue is continue.
type Continue struct{ S }

// Return is return X (X nil for void).
type Return struct {
	S
	X Expr
}

// Goto is goto Label (forward, to a label at the top level of the function body).
type Goto struct {
	S
	Label string
}

// Label marks a goto target at the top level of a function body.
type Label struct {
	S
	Name string
}

// VarKind says where a variable lives.
type VarKind int

const (
	Local VarKind = iota
	Param
	Global
)

// Var is a variable. Locals have names unique within their function.
type Var struct {
	Name string
	Type Type
	Kind VarKind
	Pos  Pos
}

// ShimKind classifies external functions.
type ShimKind int

const (
	NotShim    ShimKind = iota // a generic function with a body
	ShimPure                   // SHIM_PURE: a lookup without side effects
	ShimEffect                 // SHIM_EFFECT: always residual, in order
)

func (k ShimKind) String() string { return [...]string{"generic", "SHIM_PURE", "SHIM_EFFECT"}[k] }

// Func is a function: generic (Body != nil) or shim (Body == nil, Shim != NotShim).
type Func struct {
	Name   string
	Type   *FuncType
	Params []*Var
	Body   *Block
	Shim   ShimKind
	Errno  bool // SHIM_ERRNO: the shim returns 0 or a negative error code
	Static bool // declared static (internal linkage)
	Pos    Pos
}

// Program is a translation unit.
type Program struct {
	Funcs   []*Func
	Globals []*Var
	Structs map[string]*StructType
	// Headers are the local headers the source files include, in first-inclusion order; the
	// residual includes the same ones.
	Headers []string
	// Files are the source files, in order, with their text (for reports).
	Files []SourceFile
}

// SourceFile is one input file.
type SourceFile struct {
	Name string
	Text string
}

// Func returns the function called name, or nil.
func (p *Program) Func(name string) *Func {
	for _, f := range p.Funcs {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Global returns the global called name, or nil.
func (p *Program) Global(name string) *Var {
	for _, g := range p.Globals {
		if g.Name == name {
			return g
		}
	}
	return nil
}
