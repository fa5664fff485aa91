package process

import (
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/emitters/emit"
	"github.com/vmcore-report/vmcore-report/kernel/ktype"
	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// Task atomic flags (PFA_* in include/linux/sched.h) and prctl speculation
// states (PR_SPEC_* in include/uapi/linux/prctl.h).
const (
	pfaNoNewPrivs       = 0
	pfaSpecSSBDisable   = 3
	pfaSpecSSBForceDis  = 4
	pfaSpecIBDisable    = 5
	pfaSpecIBForceDis   = 6
	pfaSpecSSBNoexec    = 7
	prSpecNotAffected   = 0
	prSpecPrctl         = 1
	prSpecEnable        = 2
	prSpecDisable       = 4
	prSpecForceDisable  = 8
	prSpecDisableNoexec = 16
	x86BugSpectreV2     = 16 // X86_BUG(16), arch/x86/include/asm/cpufeatures.h
	x86BugSSB           = 17 // X86_BUG_SPEC_STORE_BYPASS
)

// speculation is the global mitigation state arch_prctl_spec_ctrl_get()
// (arch/x86/kernel/cpu/bugs.c) consults, read once per run.
type speculation struct {
	ssbMode, ibpb, stibp int64
	bugSSB, bugSpectreV2 bool
}

func readSpeculation(c *emit.Context) (speculation, error) {
	return emit.Once(c, "emitters/speculation", func() (speculation, error) {
		var s speculation
		var err error
		for _, f := range []struct {
			sym string
			dst *int64
		}{{"ssb_mode", &s.ssbMode}, {"spectre_v2_user_ibpb", &s.ibpb}, {"spectre_v2_user_stibp", &s.stibp}} {
			if *f.dst, err = c.Prog.VarAs(f.sym, "int").Int(); err != nil {
				return s, err
			}
		}
		capArr := c.Prog.VarAs("boot_cpu_data", "struct cpuinfo_x86").Member("x86_capability")
		arr, ok := ktype.As[*ktype.Array](capArr.Type())
		if !ok {
			return s, fmt.Errorf("boot_cpu_data.x86_capability is not an array")
		}
		// NCAPINTS: the cpuid words, NR_CPUID_WORDS of enum cpuid_leafs.
		ncap, err := c.Prog.Types.EnumValue("NR_CPUID_WORDS")
		if err != nil || ncap <= 0 || uint64(ncap) >= arr.Count {
			return s, fmt.Errorf("NCAPINTS: NR_CPUID_WORDS %d of %d words (%v)", ncap, arr.Count, err)
		}
		raw, err := capArr.Bytes()
		if err != nil {
			return s, err
		}
		bit := func(n int) bool {
			i := int(ncap)*32 + n
			return i/8 < len(raw) && raw[i/8]&(1<<(i%8)) != 0
		}
		s.bugSSB, s.bugSpectreV2 = bit(x86BugSSB), bit(x86BugSpectreV2)
		return s, nil
	})
}

func enumIs(p *object.Program, v int64, names ...string) bool {
	for _, n := range names {
		if e, err := p.Types.EnumValue(n); err == nil && e == v {
			return true
		}
	}
	return false
}

// ssbPrctlGet mirrors ssb_prctl_get().
func ssbPrctlGet(p *object.Program, s speculation, flags uint64) int {
	switch {
	case enumIs(p, s.ssbMode, "SPEC_STORE_BYPASS_DISABLE"):
		return prSpecDisable
	case enumIs(p, s.ssbMode, "SPEC_STORE_BYPASS_SECCOMP", "SPEC_STORE_BYPASS_PRCTL"):
		switch {
		case flags&(1<<pfaSpecSSBForceDis) != 0:
			return prSpecPrctl | prSpecForceDisable
		case flags&(1<<pfaSpecSSBNoexec) != 0:
			return prSpecPrctl | prSpecDisableNoexec
		case flags&(1<<pfaSpecSSBDisable) != 0:
			return prSpecPrctl | prSpecDisable
		}
		return prSpecPrctl | prSpecEnable
	case s.bugSSB: // SPEC_STORE_BYPASS_NONE on an affected CPU
		return prSpecEnable
	}
	return prSpecNotAffected
}

// ibPrctlGet mirrors ib_prctl_get().
func ibPrctlGet(p *object.Program, s speculation, flags uint64) int {
	none := func(v int64) bool { return enumIs(p, v, "SPECTRE_V2_USER_NONE") }
	user := func(v int64) bool { return enumIs(p, v, "SPECTRE_V2_USER_PRCTL", "SPECTRE_V2_USER_SECCOMP") }
	strict := func(v int64) bool { return enumIs(p, v, "SPECTRE_V2_USER_STRICT", "SPECTRE_V2_USER_STRICT_PREFERRED") }
	switch {
	case !s.bugSpectreV2:
		return prSpecNotAffected
	case none(s.ibpb) && none(s.stibp):
		return prSpecEnable
	case user(s.ibpb) || user(s.stibp):
		switch {
		case flags&(1<<pfaSpecIBForceDis) != 0:
			return prSpecPrctl | prSpecForceDisable
		case flags&(1<<pfaSpecIBDisable) != 0:
			return prSpecPrctl | prSpecDisable
		}
		return prSpecPrctl | prSpecEnable
	case enumIs(p, s.ibpb, "SPECTRE_V2_USER_STRICT") || strict(s.stibp):
		return prSpecDisable
	}
	return prSpecNotAffected
}

// taskSeccomp mirrors task_seccomp(): no_new_privs, the seccomp mode and
// filter count, and the speculation control state of the task.
func taskSeccomp(c *emit.Context, task object.Object, feat statusFeatures) (string, error) {
	flags, err := task.Member("atomic_flags").Uint()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\n", flags>>pfaNoNewPrivs&1)
	if task.HasMember("seccomp") { // CONFIG_SECCOMP
		mode, err := task.Member("seccomp.mode").Int()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "Seccomp:\t%d\n", mode)
		if task.HasMember("seccomp.filter_count") { // CONFIG_SECCOMP_FILTER
			n, err := task.Member("seccomp.filter_count.counter").Int()
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "Seccomp_filters:\t%d\n", n)
		}
	}
	s, err := readSpeculation(c)
	if err != nil {
		return "", fmt.Errorf("speculation mitigations: %w", err)
	}
	ssb := map[int]string{
		prSpecNotAffected: "not vulnerable", prSpecPrctl | prSpecForceDisable: "thread force mitigated",
		prSpecPrctl | prSpecDisable: "thread mitigated", prSpecPrctl | prSpecEnable: "thread vulnerable",
		prSpecDisable: "globally mitigated",
	}[ssbPrctlGet(c.Prog, s, flags)]
	if ssb == "" {
		ssb = "vulnerable"
	}
	ib := map[int]string{
		prSpecNotAffected: "not affected", prSpecPrctl | prSpecForceDisable: "conditional force disabled",
		prSpecPrctl | prSpecDisable: "conditional disabled", prSpecPrctl | prSpecEnable: "conditional enabled",
		prSpecEnable: "always enabled", prSpecDisable: "always disabled",
	}[ibPrctlGet(c.Prog, s, flags)]
	if ib == "" {
		ib = "unknown"
	}
	fmt.Fprintf(&b, "Speculation_Store_Bypass:\t%s\n", ssb)
	if feat.indirectBranch || feat.err != nil {
		fmt.Fprintf(&b, "SpeculationIndirectBranch:\t%s\n", ib)
	}
	return b.String(), nil
}
