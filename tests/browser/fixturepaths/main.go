// Command fixturepaths prints, as JSON, where the real-dump fixtures of the
// current generation are (internal/fixtures), for the browser tests:
// [{id, kernel_release, vmlinux, roles: {role: [paths in part order]}}].
// It exits 3 when the fixtures are not built.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

type set struct {
	ID            string              `json:"id"`
	KernelRelease string              `json:"kernel_release"`
	Vmlinux       string              `json:"vmlinux"`
	Roles         map[string][]string `json:"roles"`
}

func main() {
	sets, err := fixtures.Load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fixturepaths: %v\n", err)
		os.Exit(3)
	}
	out := []set{}
	for _, s := range sets {
		o := set{ID: s.Manifest.ID, KernelRelease: s.Manifest.KernelRelease, Vmlinux: s.Manifest.Vmlinux.Path, Roles: map[string][]string{}}
		for _, f := range s.Manifest.Files {
			if _, done := o.Roles[f.Role]; done {
				continue
			}
			for _, p := range s.Parts(f.Role) {
				o.Roles[f.Role] = append(o.Roles[f.Role], p.Path)
			}
		}
		out = append(out, o)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "fixturepaths: %v\n", err)
		os.Exit(1)
	}
}
