package emitters

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
	"github.com/vmcore-report/vmcore-report/internal/kerneltest"
	"github.com/vmcore-report/vmcore-report/kernel/linux"
)

// kernelAddr matches a kernel-half address printed in hex, with or without
// 0x (the kernel prints %px and %lx both ways).
var kernelAddr = regexp.MustCompile(`\b(?:0x)?(ffff[0-9a-f]{12})\b`)

// moduleAddrAllowed are outputs whose format prints module addresses as
// numbers on purpose: m_show() prints each module's base with %px.
var moduleAddrAllowed = map[string]bool{"proc/modules": true}

// TestNoBareModuleAddresses runs every emitter on each fixture dump (read
// alone) and fails on any address inside a loaded module's memory printed
// as a number, in the output or in its partial reasons: every such address
// must resolve to its module symbol (name+off/size [module]), as the
// kernel's %pS would print it.
func TestNoBareModuleAddresses(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			c := NewContext(kerneltest.OpenAlone(t, s, s.RefRole()))
			sym := c.Symbolizer()
			if mods, err := sym.Modules(); err != nil || len(mods) == 0 {
				t.Fatalf("modules: %d, %v", len(mods), err)
			}
			check := func(path, text string) {
				for _, b := range bareModuleAddrs(sym, text) {
					t.Errorf("%s: %s", path, b)
				}
			}
			// The check itself finds a module function printed as a number.
			mods, _ := sym.Modules()
			if probe := mods[0].Ranges[0].Base + 0x10; len(bareModuleAddrs(sym, "handler "+strconv.FormatUint(probe, 16))) != 1 {
				t.Fatalf("the check misses module address %#x", probe)
			}
			pids := comparablePIDs(t, s)
			for _, e := range All() {
				if moduleAddrAllowed[e.Path] {
					continue
				}
				items := []int64{0}
				if e.Each == PerPID {
					items = pids
				}
				for _, item := range items {
					var out Output
					if err := e.Run(c, item, &out); err != nil {
						check(e.Expand(item)+" (error)", err.Error())
						continue
					}
					check(e.Expand(item), out.String()+"\n"+strings.Join(out.PartialReasons(), "\n"))
				}
			}
		})
	}
}

// bareModuleAddrs lists the hex addresses in text that lie in a module.
func bareModuleAddrs(sym *linux.Symbolizer, text string) []string {
	var out []string
	for _, m := range kernelAddr.FindAllStringSubmatch(text, -1) {
		a, err := strconv.ParseUint(m[1], 16, 64)
		if err != nil {
			continue
		}
		if mod := sym.ModuleOf(a); mod != "" {
			out = append(out, fmt.Sprintf("%s lies in module %s but is printed as a number (%%pS: %s)", m[0], mod, sym.SprintSymbol(a)))
		}
	}
	return out
}
