package processor

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

func init() {
	area.Register(&emit.Emitter{
		Path:    "proc/cpuinfo",
		Mirrors: "show_cpuinfo() in arch/x86/kernel/cpu/proc.c (x86_64)",
		Desc:    "per-CPU identification, features and bugs, for every CPU running before the panic",
		Tracker: emit.Done,
		Note:    "cpu MHz is cpu_khz, which the kernel prints when APERF/MPERF and cpufreq give nothing (virtual machines); with APERF/MPERF the live value moved with load and is marked partial",
		Run:     procCpuinfo,
	})
}

const (
	x86FeatureTSC        = 0*32 + 4
	x86FeatureAPERFMPERF = 3*32 + 28
	nbugints             = 2 // NBUGINTS in arch/x86/include/asm/cpufeatures.h (6.1 and 6.12)
)

func procCpuinfo(c *emit.Context, _ int64, out *emit.Output) error {
	p := c.Prog
	cpus, err := linux.CPUsRunningBeforePanic(p)
	if err != nil {
		return err
	}
	cpuT, err := p.Type("struct cpuinfo_x86")
	if err != nil {
		return err
	}
	capM, err := ktype.FindMember(cpuT, "x86_capability")
	if err != nil {
		return err
	}
	capArr, ok := ktype.As[*ktype.Array](capM.Type)
	if !ok || capArr.Count <= nbugints || capArr.Count > 64 {
		return fmt.Errorf("cpuinfo_x86.x86_capability: unexpected type %s", ktype.String(capM.Type))
	}
	ncapints := int(capArr.Count) - nbugints
	capNames, err := stringArray(p, "x86_cap_flags", 32*ncapints)
	if err != nil {
		return err
	}
	bugNames, err := stringArray(p, "x86_bug_flags", 32*nbugints)
	if err != nil {
		return err
	}
	powerNames, err := stringArray(p, "x86_power_flags", 32)
	if err != nil {
		return err
	}
	cpuKHz, err := p.VarAs("cpu_khz", "unsigned int").Uint()
	if err != nil {
		return err
	}
	hz, err := linux.HZ(p)
	if err != nil {
		return err
	}
	// The topology fields moved into c->topo in 6.9.
	topo := map[string]string{"pkg": "phys_proc_id", "core": "cpu_core_id", "apic": "apicid", "iapic": "initial_apicid"}
	if p.HasMember("struct cpuinfo_x86", "topo.pkg_id") {
		topo = map[string]string{"pkg": "topo.pkg_id", "core": "topo.core_id", "apic": "topo.apicid", "iapic": "topo.initial_apicid"}
	}
	for _, cpu := range cpus {
		ci := linux.PerCPU(p, "cpu_info", "struct cpuinfo_x86", cpu)
		b, err := ci.Bytes()
		if err != nil {
			return err
		}
		words := make([]uint32, capArr.Count)
		for i := range words {
			off := capM.Offset.Bytes() + uint64(4*i)
			words[i] = uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16 | uint32(b[off+3])<<24
		}
		has := func(bit int) bool { return words[bit/32]&(1<<(bit%32)) != 0 }
		get := func(m string) int64 {
			v, e := ci.Member(m).Int()
			if e != nil && err == nil {
				err = e
			}
			return v
		}
		str := func(m string) string {
			s, e := ci.Member(m).CString()
			if e != nil && err == nil {
				err = e
			}
			return s
		}
		idx, vendor, model := get("cpu_index"), str("x86_vendor_id"), str("x86_model_id")
		if vendor == "" {
			vendor = "unknown"
		}
		if model == "" {
			model = "unknown"
		}
		fmt.Fprintf(out, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: %d\nmodel\t\t: %d\nmodel name\t: %s\n",
			idx, vendor, get("x86"), get("x86_model"), model)
		if get("x86_stepping") != 0 || get("cpuid_level") >= 0 {
			fmt.Fprintf(out, "stepping\t: %d\n", get("x86_stepping"))
		} else {
			out.WriteString("stepping\t: unknown\n")
		}
		if mc := get("microcode"); mc != 0 {
			fmt.Fprintf(out, "microcode\t: 0x%x\n", uint32(mc))
		}
		if has(x86FeatureTSC) {
			// show_cpuinfo() prints APERF/MPERF's sampled frequency, else
			// cpufreq_quick_get()'s (a registered cpufreq driver), else
			// cpu_khz: only the last is in the dump as printed.
			if has(x86FeatureAPERFMPERF) {
				out.Partial("cpu %d: cpu MHz from APERF/MPERF samples is not reproduced; cpu_khz printed", cpu)
			} else if drv, err := cpufreqDriver(p); err != nil {
				out.Partial("cpu %d: cpufreq_driver: %v; cpu_khz printed", cpu, err)
			} else if drv != 0 {
				out.Partial("cpu %d: cpu MHz from the cpufreq driver (cpufreq_quick_get) is not reproduced; cpu_khz printed", cpu)
			}
			fmt.Fprintf(out, "cpu MHz\t\t: %d.%03d\n", cpuKHz/1000, cpuKHz%1000)
		}
		if cs := get("x86_cache_size"); cs != 0 {
			fmt.Fprintf(out, "cache size\t: %d KB\n", cs)
		}
		siblings, serr := coreSiblings(c, cpu)
		if serr != nil {
			return serr
		}
		fmt.Fprintf(out, "physical id\t: %d\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\napicid\t\t: %d\ninitial apicid\t: %d\n",
			get(topo["pkg"]), siblings, get(topo["core"]), get("booted_cores"), get(topo["apic"]), get(topo["iapic"]))
		fmt.Fprintf(out, "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: %d\nwp\t\t: yes\n", get("cpuid_level"))
		out.WriteString("flags\t\t:")
		writeFlags(out, words, 0, capNames)
		if has(4*32 + 5) { // X86_FEATURE_VMX: the "vmx flags" line (CONFIG_X86_VMX_FEATURE_NAMES)
			out.Partial("cpu %d: vmx flags line not reproduced", cpu)
		}
		out.WriteString("\nbugs\t\t:")
		writeFlags(out, words, 32*ncapints, bugNames)
		lpj := uint64(get("loops_per_jiffy"))
		fmt.Fprintf(out, "\nbogomips\t: %d.%02d\n", lpj/(500000/hz), (lpj/(5000/hz))%100)
		if tlb := get("x86_tlbsize"); tlb > 0 {
			fmt.Fprintf(out, "TLB size\t: %d 4K pages\n", tlb)
		}
		fmt.Fprintf(out, "clflush size\t: %d\ncache_alignment\t: %d\naddress sizes\t: %d bits physical, %d bits virtual\n",
			get("x86_clflush_size"), get("x86_cache_alignment"), get("x86_phys_bits"), get("x86_virt_bits"))
		out.WriteString("power management:")
		power := uint32(get("x86_power"))
		for i := 0; i < 32; i++ {
			if power&(1<<i) == 0 {
				continue
			}
			if powerNames[i] != "" {
				fmt.Fprintf(out, " %s", powerNames[i])
			} else {
				fmt.Fprintf(out, " [%d]", i)
			}
		}
		out.WriteString("\n\n")
		if err != nil {
			return err
		}
	}
	return nil
}

// writeFlags writes " name" for each bit set from bit base on of words that
// names names (show_cpuinfo's flags and bugs lines). A function of its own:
// its loop, hundreds of bits per CPU, would otherwise make a browser
// compile all of procCpuinfo with its optimising compiler in every report.
func writeFlags(out *emit.Output, words []uint32, base int, names []string) {
	for i, name := range names {
		bit := base + i
		if name != "" && words[bit/32]&(1<<(bit%32)) != 0 {
			out.WriteString(" ")
			out.WriteString(name)
		}
	}
}

// coreSiblings is cpumask_weight(topology_core_cpumask(cpu)): the weight of
// per_cpu(cpu_core_map, cpu), a cpumask_var_t (a pointer with
// CPUMASK_OFFSTACK, Debian's setting, an embedded mask otherwise).
func coreSiblings(c *emit.Context, cpu int) (int, error) {
	p := c.Prog
	n, err := linux.NrCPUIDs(p)
	if err != nil {
		return 0, err
	}
	m := linux.PerCPU(p, "cpu_core_map", "struct cpumask *", cpu)
	// The variable is declared a cpumask_var_t (arch/x86/kernel/smpboot.c),
	// so the typedef answers without the variable's own type, which 5.10's
	// BTF lacks: asking the DWARF for it indexed the whole of it, seconds
	// of a browser report.
	vt, err := p.Type("cpumask_var_t")
	if err != nil {
		vt, err = c.VarType("cpu_core_map")
	}
	if err == nil {
		if _, isPtr := ktype.As[*ktype.Pointer](vt); !isPtr {
			a, _ := m.Address()
			m = p.Object(vt, a, "cpu_core_map").Cast("struct cpumask").AddressOf()
		}
	} else if errors.Is(err, ktype.ErrLost) {
		return 0, fmt.Errorf("cpu_core_map: %w", err)
	}
	words := make([]byte, (n+63)/64*8)
	if err := m.Deref().Read(words); err != nil {
		return 0, err
	}
	count := 0
	for _, w := range words {
		count += bits.OnesCount8(w)
	}
	return count, nil
}

// stringArray reads n char pointers at symbol; NULL entries are "".
func stringArray(p *object.Program, symbol string, n int) ([]string, error) {
	addr, err := p.Syms.Addr(symbol)
	if err != nil {
		return nil, err
	}
	ptrs := make([]byte, 8*n)
	if _, err := p.Mem.ReadVirtAt(ptrs, addr); err != nil {
		return nil, fmt.Errorf("%s: %w", symbol, err)
	}
	out := make([]string, n)
	for i := range out {
		var v uint64
		for j := 7; j >= 0; j-- {
			v = v<<8 | uint64(ptrs[8*i+j])
		}
		if v == 0 {
			continue
		}
		s, err := object.ReadCString(p.Mem, v, 64)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", symbol, i, err)
		}
		out[i] = s
	}
	return out, nil
}

// cpufreqDriver is the registered cpufreq driver's address, 0 for none or a
// kernel without CONFIG_CPU_FREQ (no cpufreq_driver symbol).
func cpufreqDriver(p *object.Program) (uint64, error) {
	if !linux.HasSymbol(p, "cpufreq_driver") {
		return 0, nil
	}
	return p.VarAs("cpufreq_driver", "struct cpufreq_driver *").Uint()
}
