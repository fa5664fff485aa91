package linux

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
)

// truthModSym is one module line of the guest's /proc/kallsyms.
type truthModSym struct {
	addr      uint64
	typ       byte
	name, mod string
	seq       int // position in the file: the module's table order
}

func truthModuleKallsyms(t *testing.T, s *fixtures.Set) map[string][]truthModSym {
	t.Helper()
	text, err := s.Truth("proc/kallsyms")
	if err != nil {
		fixtures.Missing(t, fmt.Errorf("%s: no /proc/kallsyms in the ground truth (rebuild with `make fixtures`): %w", s.Manifest.ID, err))
	}
	out := map[string][]truthModSym{}
	for i, l := range strings.Split(string(text), "\n") {
		sym, mod, ok := strings.Cut(l, "\t[")
		if !ok {
			continue
		}
		f := strings.Fields(sym)
		if len(f) != 3 || len(f[1]) != 1 {
			t.Fatalf("kallsyms line %d: %q", i+1, l)
		}
		a, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			t.Fatalf("kallsyms line %d: %v", i+1, err)
		}
		m := strings.TrimSuffix(mod, "]")
		out[m] = append(out[m], truthModSym{a, f[1][0], f[2], m, i})
	}
	return out
}

// TestModuleKallsymsMatchTruth reads every module's symbol table from each
// fixture dump in each mode and compares it with the guest's
// /proc/kallsyms (address, letter with its exported case, name, order), then resolves every module text symbol's address (and
// one byte into it) and checks the name, offset, size and module that %pS
// would print against what the truth's own addresses give.
func TestModuleKallsymsMatchTruth(t *testing.T) {
	for _, s := range fixtures.All(t) {
		truth := truthModuleKallsyms(t, s)
		for _, mode := range kerneltest.Modes {
			t.Run(s.Manifest.ID+"/"+string(mode), func(t *testing.T) {
				k, ok := kerneltest.OpenMode(t, s, s.RefRole(), mode)
				if !ok {
					return
				}
				sym := NewSymbolizer(k.Program(), k.Symbols())
				mods, err := sym.Modules()
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range mods {
					m.Load() // the Symbolizer reads a table on its first lookup
				}
				if len(mods) != len(truth) {
					t.Errorf("%d modules read, the truth lists symbols of %d", len(mods), len(truth))
				}
				listed, resolved := 0, 0
				for _, m := range mods {
					if m.Err != nil || m.ExportErr != nil {
						t.Errorf("%s: %v %v", m.Name, m.Err, m.ExportErr)
						continue
					}
					want := truth[m.Name]
					var have []truthModSym
					for _, ms := range m.Syms {
						if ms.Name != "" { // s_show() skips unnamed entries (the null symbol)
							have = append(have, truthModSym{addr: ms.Value, typ: ms.KallsymsType(), name: ms.Name, mod: m.Name})
						}
					}
					if len(have) != len(want) {
						t.Errorf("%s: %d named symbols, the truth lists %d", m.Name, len(have), len(want))
					}
					for i := range min(len(have), len(want)) {
						h, w := have[i], want[i]
						if h.addr != w.addr || h.typ != w.typ || h.name != w.name {
							t.Errorf("%s symbol %d: %016x %c %s, truth %016x %c %s", m.Name, i, h.addr, h.typ, h.name, w.addr, w.typ, w.name)
						}
					}
					listed += len(want)
					resolved += checkModuleResolution(t, sym, m, want)
				}
				t.Logf("%d modules, %d symbols equal to /proc/kallsyms, %d module addresses resolved as %%pS would", len(mods), listed, resolved)
				if resolved < 1000 {
					t.Errorf("only %d module addresses resolved", resolved)
				}
			})
		}
	}
}

// checkModuleResolution resolves each text symbol of the truth (at its
// address and one byte in) and compares with the answer the truth's own
// table gives under find_kallsyms_symbol()'s rules.
func checkModuleResolution(t *testing.T, sym *Symbolizer, m *ModuleKallsyms, want []truthModSym) int {
	t.Helper()
	sorted := slices.Clone(want)
	slices.SortStableFunc(sorted, func(a, b truthModSym) int { return cmp.Compare(a.addr, b.addr) })
	textEnd := m.textEnd(false)
	n := 0
	for _, w := range want {
		if w.typ != 't' && w.typ != 'T' {
			continue
		}
		for _, a := range []uint64{w.addr, w.addr + 1} {
			// Expected: the first (in table order) of the symbols at the
			// highest address <= a; the size runs to the next higher
			// address or the end of the text.
			var best *truthModSym
			next := textEnd
			for i := range sorted {
				e := &sorted[i]
				if e.addr <= a && (best == nil || e.addr > best.addr) {
					best = e
				}
				if e.addr > a && e.addr < next {
					next = e.addr
				}
			}
			wantStr := fmt.Sprintf("%s+%#x/%#x [%s]", best.name, a-best.addr, next-best.addr, m.Name)
			if got := sym.SprintSymbol(a); got != wantStr {
				t.Errorf("%%pS %#x: %q, want %q", a, got, wantStr)
				continue
			}
			n++
		}
	}
	return n
}

// BenchmarkSymbolizeModule resolves module text addresses of the first
// fixture dump (read alone where the kernel allows) with %pS; the module tables are read once,
// outside the loop.
func BenchmarkSymbolizeModule(b *testing.B) {
	sets := fixtures.All(b)
	k := kerneltest.OpenAlone(b, sets[0], "lzo-d31")
	sym := NewSymbolizer(k.Program(), k.Symbols())
	mods, err := sym.Modules()
	if err != nil {
		b.Fatal(err)
	}
	var addrs []uint64
	for _, m := range mods {
		m.Load()
		for _, s := range m.Syms {
			if s.Type == 't' || s.Type == 'T' {
				addrs = append(addrs, s.Value+7)
			}
		}
	}
	if len(addrs) == 0 {
		b.Fatal("no module text symbols")
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, _, mod, ok := sym.Symbolize(addrs[i%len(addrs)]); !ok || mod == "" {
			b.Fatalf("%#x not resolved", addrs[i%len(addrs)])
		}
		i++
	}
}
