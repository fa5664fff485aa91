package dump

// Tests on the real dumps of internal/fixtures: every role of every set
// opens, agrees with its manifest, and reads the same bytes for the same
// physical page whatever the format.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// openRole opens every file of role (several for --split) in set s.
func openRole(tb testing.TB, s *fixtures.Set, role string) *Dump {
	tb.Helper()
	files := s.Parts(role)
	if len(files) == 0 {
		fixtures.Missing(tb, fmt.Errorf("%s: no %s dump in this set", s.Manifest.ID, role))
	}
	var parts []Part
	for _, f := range files {
		fh, err := os.Open(f.Path)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { fh.Close() })
		parts = append(parts, Part{Name: f.Name, R: fh, Size: f.Size})
	}
	d, err := OpenParts(parts)
	if err != nil {
		tb.Fatalf("%s/%s: %v", s.Manifest.ID, role, err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

func roles(s *fixtures.Set) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range s.Manifest.Files {
		if !seen[f.Role] {
			seen[f.Role] = true
			out = append(out, f.Role)
		}
	}
	return out
}

func TestRealOpen(t *testing.T) {
	for _, s := range fixtures.Every(t) {
		for _, role := range roles(s) {
			t.Run(s.Manifest.ID+"/"+role, func(t *testing.T) {
				f := s.Role(role)
				d := openRole(t, s, role)
				info := d.Info()
				if info.Format != f.Format {
					t.Errorf("format %q, manifest says %q", info.Format, f.Format)
				}
				if info.Format != "elf" && info.Inner != "elf" {
					if info.Compression != f.Compression {
						t.Errorf("compression %q, manifest says %q", info.Compression, f.Compression)
					}
					if info.DumpLevel != f.DumpLevel {
						t.Errorf("dump level %d, manifest says %d", info.DumpLevel, f.DumpLevel)
					}
				}
				if info.Truncated != f.Truncated {
					t.Errorf("truncated %v, manifest says %v", info.Truncated, f.Truncated)
				}
				if info.PageSize != 4096 || info.MaxPFN == 0 {
					t.Errorf("page size %d, max pfn %#x", info.PageSize, info.MaxPFN)
				}
				vmci := d.VMCOREINFO()
				if (vmci != nil) != f.VMCOREINFO {
					t.Fatalf("VMCOREINFO present %v, manifest says %v", vmci != nil, f.VMCOREINFO)
				}
				if vmci != nil {
					if !bytes.Contains(vmci, []byte("OSRELEASE="+s.Manifest.KernelRelease+"\n")) {
						t.Errorf("VMCOREINFO lacks OSRELEASE=%s", s.Manifest.KernelRelease)
					}
					if id := vmcoreinfoValue(vmci, "BUILD-ID"); id == "" || !strings.HasPrefix(s.Manifest.BuildID, id) && !strings.HasPrefix(id, s.Manifest.BuildID) {
						t.Errorf("BUILD-ID %q, vmlinux has %q", id, s.Manifest.BuildID)
					}
				}
				if info.Format != "elf" && info.Format != "flattened" || info.Inner == "kdump" {
					if info.Machine != "x86_64" {
						t.Errorf("machine %q", info.Machine)
					}
				}
				if f.ByKdump() {
					// kdump: the crashed kernel saved one NT_PRSTATUS per CPU
					// in its crash_notes (crash_save_cpu, pr_pid = the task
					// running there: on the panic CPU, the panicking task),
					// kexec-tools' ELF header points at them, and QEMU's
					// notes are absent.
					prs := d.PRStatus()
					panicker := false
					for _, pr := range prs {
						panicker = panicker || int(pr.Pid) == s.Manifest.Crash.Task.PID
					}
					if len(prs) == 0 || len(d.QEMUCPUStates()) != 0 || !panicker {
						t.Errorf("%d PRSTATUS (pids %v), %d QEMU notes: want one naming the panicking pid %d and no QEMU notes",
							len(prs), prPids(prs), len(d.QEMUCPUStates()), s.Manifest.Crash.Task.PID)
					}
				} else if prs := d.PRStatus(); len(prs) == 0 || len(d.QEMUCPUStates()) != len(prs) {
					// QEMU writes one NT_PRSTATUS and one QEMU note per vCPU; makedumpfile copies them.
					t.Errorf("%d PRSTATUS, %d QEMU notes", len(prs), len(d.QEMUCPUStates()))
				}
				for _, q := range d.QEMUCPUStates() {
					if q.CR[3] == 0 {
						t.Errorf("vCPU %d: cr3 0", q.Index)
					}
				}
				if f.ByKdump() {
					// kexec-tools describes the crashed kernel's System RAM
					// (/proc/iomem) without the crashkernel reservation the
					// capture kernel ran in.
					checkKdumpRanges(t, s, d.PhysRanges())
				} else if rs := d.PhysRanges(); len(rs) == 0 || rs[0].Start != 0 {
					t.Errorf("ranges %x", rs)
				}
			})
		}
	}
}

// checkKdumpRanges compares a kdump-made dump's physical ranges with the
// crashed kernel's /proc/iomem: they start at the first System RAM page and
// none reaches into the "Crash kernel" reservation.
func checkKdumpRanges(t *testing.T, s *fixtures.Set, rs []Range) {
	t.Helper()
	iomem, err := s.Truth("proc/iomem")
	if err != nil {
		t.Fatal(err)
	}
	var ramStart, crashStart, crashEnd uint64
	haveRAM := false
	for _, line := range strings.Split(string(iomem), "\n") {
		var a, b uint64
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "%x-%x", &a, &b); err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(line, " : System RAM") && !haveRAM:
			ramStart, haveRAM = a, true
		case strings.HasSuffix(line, " : Crash kernel"):
			crashStart, crashEnd = a, b+1
		}
	}
	if !haveRAM || crashEnd == 0 {
		t.Fatalf("the truth's /proc/iomem names no System RAM or no Crash kernel")
	}
	// The first range starts at the first System RAM page when kexec-tools
	// built the ELF header (kexec_load), or at 1 MiB when the kernel did
	// (kexec_file_load: elf_header_exclude_ranges in
	// arch/x86/kernel/crash.c drops the always-reserved low 1 MiB).
	if len(rs) == 0 || rs[0].Start != ramStart&^0xfff && rs[0].Start != 1<<20 {
		t.Errorf("ranges %x: want the first at System RAM %#x or at 1 MiB", rs, ramStart)
	}
	for _, r := range rs {
		if r.Start < crashEnd && r.End > crashStart {
			t.Errorf("range %x overlaps the crash kernel's %#x-%#x", r, crashStart, crashEnd)
		}
	}
}

func prPids(prs []PRStatus) []int32 {
	var out []int32
	for _, pr := range prs {
		out = append(out, pr.Pid)
	}
	return out
}

// TestRealKdumpSamePages: the two dumps the capture kernel wrote from one
// /proc/vmcore (LZO kdump and ELF) hold the same pages, notes and
// VMCOREINFO.
func TestRealKdumpSamePages(t *testing.T) {
	for _, s := range fixtures.Scenarios(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			ref, e := openRole(t, s, "kdump-lzo-d31"), openRole(t, s, "kdump-elf-d31")
			pfns := presentPages(t, ref, 2000)
			if len(pfns) < 2000 {
				t.Fatalf("only %d pages in kdump-lzo-d31", len(pfns))
			}
			a, b, zero := make([]byte, 4096), make([]byte, 4096), make([]byte, 4096)
			for _, pfn := range pfns {
				if _, err := ref.ReadPhysAt(a, pfn*4096); err != nil {
					t.Fatal(err)
				}
				_, err := e.ReadPhysAt(b, pfn*4096)
				if errors.Is(err, ErrExcluded) && bytes.Equal(a, zero) {
					continue // makedumpfile -E drops long runs of zero pages
				}
				if err != nil || !bytes.Equal(a, b) {
					t.Fatalf("pfn %#x differs between the kdump LZO and ELF dumps (err %v)", pfn, err)
				}
			}
			if !bytes.Equal(ref.VMCOREINFO(), e.VMCOREINFO()) || len(ref.PRStatus()) != len(e.PRStatus()) {
				t.Errorf("VMCOREINFO equal %v, PRSTATUS %d vs %d", bytes.Equal(ref.VMCOREINFO(), e.VMCOREINFO()), len(ref.PRStatus()), len(e.PRStatus()))
			}
			for i, pr := range ref.PRStatus() {
				if i < len(e.PRStatus()) && e.PRStatus()[i] != pr {
					t.Errorf("PRSTATUS %d differs", i)
				}
			}
		})
	}
}

// presentPages lists up to n random PFNs that read without error in d.
func presentPages(tb testing.TB, d *Dump, n int) []uint64 {
	tb.Helper()
	var all []uint64
	buf := make([]byte, 8)
	info := d.Info()
	for pfn := uint64(0); pfn < info.MaxPFN; pfn++ {
		if _, err := d.ReadPhysAt(buf, pfn*uint64(info.PageSize)); err == nil {
			all = append(all, pfn)
		}
	}
	r := rand.New(rand.NewPCG(42, 1))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:min(n, len(all))]
}

func TestRealSamePages(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			ref := openRole(t, s, "lzo-d31")
			pfns := presentPages(t, ref, 2000)
			if len(pfns) < 2000 {
				t.Fatalf("only %d pages in lzo-d31", len(pfns))
			}
			want := make(map[uint64][]byte)
			for _, pfn := range pfns {
				b := make([]byte, 4096)
				if _, err := ref.ReadPhysAt(b, pfn*4096); err != nil {
					t.Fatal(err)
				}
				want[pfn] = b
			}
			zero := make([]byte, 4096)
			for _, role := range []string{"qemu-elf", "qemu-kdump-zlib", "raw-d31", "zstd-d31", "zlib-d31", "lzo-d31-flat", "split-lzo-d31", "elf-d31", "lzo-d1"} {
				if s.Role(role) == nil {
					continue
				}
				d := openRole(t, s, role)
				got := make([]byte, 4096)
				for _, pfn := range pfns {
					_, err := d.ReadPhysAt(got, pfn*4096)
					if role == "elf-d31" && errors.Is(err, ErrExcluded) && bytes.Equal(want[pfn], zero) {
						continue // makedumpfile -E drops long runs of zero pages
					}
					if err != nil || !bytes.Equal(got, want[pfn]) {
						t.Fatalf("%s: pfn %#x differs from lzo-d31 (err %v)", role, pfn, err)
					}
				}
			}

			// Pages lzo-d31 excluded: the other -d 31 dumps exclude them too,
			// -d 1 and QEMU's dumps have them, with the same bytes.
			var excluded []uint64
			buf := make([]byte, 8)
			for pfn := uint64(0); pfn < ref.Info().MaxPFN && len(excluded) < 500; pfn += 37 {
				if _, err := ref.ReadPhysAt(buf, pfn*4096); errors.Is(err, ErrExcluded) {
					excluded = append(excluded, pfn)
				}
			}
			for _, role := range []string{"raw-d31", "zstd-d31", "zlib-d31", "lzo-d31-flat", "split-lzo-d31"} {
				if s.Role(role) == nil {
					continue
				}
				d := openRole(t, s, role)
				for _, pfn := range excluded {
					if _, err := d.ReadPhysAt(buf, pfn*4096); !errors.Is(err, ErrExcluded) {
						t.Fatalf("%s: excluded pfn %#x: %v", role, pfn, err)
					}
				}
			}
			d1, qe := openRole(t, s, "lzo-d1"), openRole(t, s, "qemu-elf")
			a, b := make([]byte, 4096), make([]byte, 4096)
			for _, pfn := range excluded {
				_, err1 := d1.ReadPhysAt(a, pfn*4096)
				_, err2 := qe.ReadPhysAt(b, pfn*4096)
				if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
					t.Fatalf("excluded pfn %#x: lzo-d1 %v, qemu-elf %v, equal %v", pfn, err1, err2, bytes.Equal(a, b))
				}
			}
		})
	}
}

func TestRealTruncated(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			ref := openRole(t, s, "lzo-d31")
			d := openRole(t, s, "lzo-d31-truncated")
			if !d.Info().Truncated || d.VMCOREINFO() == nil {
				t.Fatalf("info %+v", d.Info())
			}
			// The cut copy's headers imply the whole file: the reference's size.
			if got, want := d.Info().Parts[0].WantSize, ref.Info().Parts[0].Size; got != want {
				t.Errorf("WantSize %d, want %d (the uncut file's size)", got, want)
			}
			if got, want := ref.Info().Parts[0].WantSize, ref.Info().Parts[0].Size; got != want {
				t.Errorf("uncut file: WantSize %d, want its size %d", got, want)
			}
			a, b := make([]byte, 4096), make([]byte, 4096)
			zero := make([]byte, 4096)
			var served, missing, zeroAfterCut int
			firstMissing := ^uint64(0)
			for pfn := uint64(0); pfn < ref.Info().MaxPFN; pfn++ {
				_, errRef := ref.ReadPhysAt(a, pfn*4096)
				_, err := d.ReadPhysAt(b, pfn*4096)
				switch {
				case errRef != nil:
					if !errors.Is(err, ErrExcluded) && !errors.Is(err, ErrNoMemory) {
						t.Fatalf("pfn %#x: %v, reference %v", pfn, err, errRef)
					}
				case err == nil:
					if !bytes.Equal(a, b) {
						t.Fatalf("pfn %#x: served bytes differ", pfn)
					}
					served++
					if pfn > firstMissing {
						// Only the shared zero page, written before all
						// other data, survives past the cut.
						if !bytes.Equal(b, zero) {
							t.Fatalf("pfn %#x after the cut served non-zero data", pfn)
						}
						zeroAfterCut++
					}
				default:
					if !errors.Is(err, ErrTruncated) {
						t.Fatalf("pfn %#x: %v, want ErrTruncated", pfn, err)
					}
					missing++
					firstMissing = min(firstMissing, pfn)
				}
			}
			if served == 0 || missing == 0 {
				t.Errorf("served %d, missing %d", served, missing)
			}
			t.Logf("truncated dump: %d pages served (%d zero pages past pfn %#x, the first missing), %d missing",
				served, zeroAfterCut, firstMissing, missing)
		})
	}
}

func TestRealNotesAgree(t *testing.T) {
	for _, s := range fixtures.All(t) {
		t.Run(s.Manifest.ID, func(t *testing.T) {
			e, k := openRole(t, s, "qemu-elf"), openRole(t, s, "lzo-d31")
			pe, pk := e.PRStatus(), k.PRStatus()
			if len(pe) != len(pk) {
				t.Fatalf("%d vs %d PRSTATUS", len(pe), len(pk))
			}
			for i := range pe {
				if pe[i] != pk[i] {
					t.Errorf("PRSTATUS %d differs", i)
				}
				if pe[i].Pid != int32(i+1) {
					t.Errorf("QEMU pr_pid %d for vCPU %d", pe[i].Pid, i)
				}
			}
			if !bytes.Equal(e.VMCOREINFO(), k.VMCOREINFO()) {
				t.Error("VMCOREINFO differs")
			}
		})
	}
}

// TestRealReadCounts measures what the browser pays for, where every read
// of a File costs a round trip: the 1 MiB pieces of the file that opening
// a dump and reading 500 random present pages touch (the browser reads a
// File through a cache of such chunks, wasm/cache.go).
func TestRealReadCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("reads hundreds of MiB")
	}
	s := fixtures.All(t)[0]
	for _, role := range []string{"lzo-d31", "zstd-d31", "qemu-kdump-zlib", "lzo-d31-flat", "qemu-elf"} {
		f := s.Role(role)
		if f == nil {
			continue
		}
		c := &chunkCounter{r: mustOpen(t, f.Path), chunks: map[int64]bool{}}
		d, err := Open(f.Name, c, f.Size)
		if err != nil {
			t.Fatal(err)
		}
		opened := len(c.chunks)
		pfns := presentPages(t, openRole(t, s, role), 500)
		clear(c.chunks)
		buf := make([]byte, 4096)
		for _, pfn := range pfns {
			if _, err := d.ReadPhysAt(buf, pfn*4096); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%-16s open: %3d MiB pieces; 500 random pages: %3d MiB pieces", role, opened, len(c.chunks))
		if role != "qemu-kdump-zlib" && role != "lzo-d31-flat" && opened > 8 {
			t.Errorf("%s: open touched %d MiB pieces of the file", role, opened)
		}
	}
}

// chunkCounter records which 1 MiB pieces of a file reads touch.
type chunkCounter struct {
	mu     sync.Mutex
	r      io.ReaderAt
	chunks map[int64]bool
}

func (c *chunkCounter) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	for i := off >> 20; i <= (off+int64(len(p))-1)>>20 && len(p) > 0; i++ {
		c.chunks[i] = true
	}
	c.mu.Unlock()
	return c.r.ReadAt(p, off)
}
