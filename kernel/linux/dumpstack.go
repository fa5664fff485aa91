package linux

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
	"github.com/vmcore-report/vmcore-report/kernel/unwind"
)

// ThreadSize is THREAD_SIZE of x86_64 (arch/x86/include/asm/page_64_types.h):
// 16 KiB, doubled by KASAN_STACK_ORDER under CONFIG_KASAN (whose
// instrumentation calls __asan_load8). IRQ_STACK_SIZE is the same.
func ThreadSize(p *object.Program) uint64 {
	if HasSymbol(p, "__asan_load8") {
		return 32 << 10
	}
	return 16 << 10
}

// TaskStackBounds is in_task_stack(): [task->stack, + THREAD_SIZE).
func TaskStackBounds(task object.Object) (unwind.Stack, error) {
	base, err := task.Member("stack").Uint()
	if err != nil {
		return unwind.Stack{}, err
	}
	if base == 0 {
		return unwind.Stack{}, fmt.Errorf("task has no stack (task->stack is NULL)")
	}
	return unwind.Stack{Kind: unwind.StackTask, Name: "task", Lo: base, Hi: base + ThreadSize(task.Prog())}, nil
}

// CPUStacks are the stacks of one CPU besides the task's: its hard-IRQ
// stack (in_irq_stack) and its exception stacks (in_exception_stack), in
// arch/x86/kernel/dumpstack_64.c. The entry trampoline stack is not
// included.
func CPUStacks(p *object.Program, cpu int) (unwind.StackList, error) {
	var out unwind.StackList
	var errs []string
	if s, err := irqStack(p, cpu); err == nil {
		out = append(out, s)
	} else {
		errs = append(errs, err.Error())
	}
	if ss, err := exceptionStacks(p, cpu); err == nil {
		out = append(out, ss...)
	} else {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("cpu %d stacks: %s", cpu, strings.Join(errs, "; "))
	}
	return out, nil
}

// irqStack reads the per-cpu hardirq_stack_ptr: a variable of its own up
// to v6.1 and from v6.15, a member of pcpu_hot in between. Since v5.12 it
// points at the top-most word, 8 bytes below the end (e7f890017971
// "x86/irq/64: Adjust the per CPU irq stack pointer by 8"), in the series
// that NewSPIndirect probes.
func irqStack(p *object.Program, cpu int) (unwind.Stack, error) {
	var ptr uint64
	var err error
	if HasSymbol(p, "hardirq_stack_ptr") {
		ptr, err = PerCPU(p, "hardirq_stack_ptr", "unsigned long", cpu).Uint()
	} else {
		ptr, err = PerCPU(p, "pcpu_hot", "struct pcpu_hot", cpu).Member("hardirq_stack_ptr").Uint()
	}
	if err != nil {
		return unwind.Stack{}, fmt.Errorf("IRQ stack: %w", err)
	}
	if ptr == 0 {
		return unwind.Stack{}, fmt.Errorf("IRQ stack of cpu %d not set up", cpu)
	}
	end := ptr
	if NewSPIndirect(p) {
		end += 8
	}
	return unwind.Stack{Kind: unwind.StackIRQ, Name: "IRQ", Lo: end - ThreadSize(p), Hi: end}, nil
}

// exceptionStackNames are crash's names for the IST stacks, by the member
// of struct cea_exception_stacks.
var exceptionStackNames = map[string]string{
	"DF_stack": "DOUBLEFAULT", "NMI_stack": "NMI", "DB_stack": "DEBUG",
	"MCE_stack": "MCE", "VC_stack": "VC", "VC2_stack": "VC2",
}

// exceptionStacks reads per_cpu(cea_exception_stacks, cpu) and the stacks'
// offsets and sizes from struct cea_exception_stacks.
func exceptionStacks(p *object.Program, cpu int) (unwind.StackList, error) {
	base, err := PerCPU(p, "cea_exception_stacks", "unsigned long", cpu).Uint()
	if err != nil {
		return nil, fmt.Errorf("exception stacks: %w", err)
	}
	if base == 0 {
		return nil, fmt.Errorf("exception stacks of cpu %d not set up", cpu)
	}
	t, err := p.Type("struct cea_exception_stacks")
	if err != nil {
		return nil, err
	}
	s, ok := ktype.As[*ktype.Struct](t)
	if !ok {
		return nil, fmt.Errorf("struct cea_exception_stacks is %v", t)
	}
	var out unwind.StackList
	for _, m := range s.Members {
		name, ok := exceptionStackNames[m.Name]
		if !ok {
			continue
		}
		size, err := ktype.Sizeof(m.Type)
		if err != nil || size == 0 {
			continue
		}
		lo := base + uint64(m.Offset)/8
		out = append(out, unwind.Stack{Kind: unwind.StackException, Name: name + " exception", Lo: lo, Hi: lo + size})
	}
	return out, nil
}
