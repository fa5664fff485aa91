package ktype

import (
	"strconv"
	"strings"
)

// formatBudget caps the number of types one String or Declaration call
// visits. Function prototypes branch (every parameter is formatted), so a
// depth cap alone would let a malformed self-referencing prototype blow up
// exponentially; 512 is far more than any real kernel type needs.
const formatBudget = 512

// String spells t the way C (and gdb's ptype/whatis) does:
// "struct task_struct *", "unsigned long", "char [16]", "const char *",
// "int (*)(struct file *, void *)". Anonymous structs, unions and enums print
// as "struct {...}". Type tags such as __user are left out.
func String(t Type) string { return Declaration(t, "") }

// Declaration spells a C declaration of name with type t, such as
// "char comm[16]" or "void (*func)(struct callback_head *)". An empty name
// gives the abstract declarator String returns.
func Declaration(t Type, name string) string {
	f := formatter{budget: formatBudget}
	return f.decl(t, name)
}

type formatter struct{ budget int }

// decl builds the C declaration of inner with type t: the base type goes
// left, and pointers, arrays and prototypes wrap the declarator inner.
func (f *formatter) decl(t Type, inner string) string {
	if f.budget <= 0 {
		return join("...", inner)
	}
	f.budget--
	switch t := t.(type) {
	case nil:
		return join("<nil>", inner)
	case *Void:
		return join("void", inner)
	case *Int:
		return join(orAnon(t.Name, "<anon int>"), inner)
	case *Float:
		return join(orAnon(t.Name, "<anon float>"), inner)
	case *Struct:
		return join("struct "+orAnon(t.Name, "{...}"), inner)
	case *Union:
		return join("union "+orAnon(t.Name, "{...}"), inner)
	case *Enum:
		return join("enum "+orAnon(t.Name, "{...}"), inner)
	case *Fwd:
		return join(t.Of.String()+" "+t.Name, inner)
	case *Typedef:
		return join(t.Name, inner)
	case *Const:
		return f.qualified("const", t.Type, inner)
	case *Volatile:
		return f.qualified("volatile", t.Type, inner)
	case *Restrict:
		return f.qualified("restrict", t.Type, inner)
	case *TypeTag:
		return f.decl(t.Type, inner)
	case *Pointer:
		d := "*" + inner
		switch peelTags(t.Target).(type) {
		case *Array, *FuncProto:
			d = "(" + d + ")"
		}
		return f.decl(t.Target, d)
	case *Array:
		switch {
		case t.Flexible:
			inner += "[]"
		default:
			inner += "[" + strconv.FormatUint(t.Count, 10) + "]"
		}
		return f.decl(t.Elem, inner)
	case *FuncProto:
		return f.decl(t.Return, inner+f.params(t))
	case *Func:
		if inner == "" {
			inner = t.Name
		}
		if t.Proto == nil {
			return join("<no prototype>", inner)
		}
		return f.decl(t.Proto, inner)
	case *Var:
		if inner == "" {
			inner = t.Name
		}
		return f.decl(t.Type, inner)
	case *Datasec:
		return join("section "+t.Name, inner)
	case *DeclTag:
		return f.decl(t.Type, inner)
	case *Lost:
		return join("<lost type>", inner)
	default:
		return join("<"+t.Kind().String()+">", inner)
	}
}

// qualified puts a qualifier where C wants it: after the "*" of a qualified
// pointer ("char *const p"), before the type otherwise ("const char *").
func (f *formatter) qualified(q string, target Type, inner string) string {
	if _, ok := peelTags(target).(*Pointer); ok {
		return f.decl(target, join(q, inner))
	}
	return q + " " + f.decl(target, inner)
}

func (f *formatter) params(p *FuncProto) string {
	if len(p.Params) == 0 && !p.Variadic {
		return "(void)"
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, param := range p.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.decl(param.Type, ""))
	}
	if p.Variadic {
		if len(p.Params) > 0 {
			b.WriteString(", ")
		}
		b.WriteString("...")
	}
	b.WriteByte(')')
	return b.String()
}

func peelTags(t Type) Type {
	for range maxResolveDepth {
		tag, ok := t.(*TypeTag)
		if !ok {
			return t
		}
		t = tag.Type
	}
	return t
}

func join(base, inner string) string {
	if inner == "" {
		return base
	}
	return base + " " + inner
}

func orAnon(name, anon string) string {
	if name == "" {
		return anon
	}
	return name
}
