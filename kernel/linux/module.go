package linux

import (
	"iter"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// ForEachModule yields every loaded module (struct module), newest first as
// /proc/modules lists them: the static list "modules" of
// kernel/module/main.c, linked by module.list.
func ForEachModule(p *object.Program) iter.Seq2[object.Object, error] {
	return ListForEachEntry(p.VarAs("modules", "struct list_head"), "struct module", "list")
}
