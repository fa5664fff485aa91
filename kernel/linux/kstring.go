package linux

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/vmcore-report/vmcore-report/kernel/object"
)

// FormatStringIn finds the string constant starting with prefix that the
// machine code of function refers to, and returns it whole (up to max
// bytes). It reads the kernel's own printf formats where a release changed
// one without changing any type (zoneinfo's "promo" line): x86_64 code
// loads a string's address either as a sign-extended 32-bit immediate (mov
// $imm32, %reg) or RIP-relative (lea disp32(%rip), %reg), so every 4-byte
// window of the first codeBytes of the function is tried both ways against
// the bounds of .rodata.
func FormatStringIn(p *object.Program, function, prefix string, codeBytes, max int) (string, error) {
	fn, err := p.Syms.Addr(function)
	if err != nil {
		return "", err
	}
	lo, err1 := p.Syms.Addr("__start_rodata")
	hi, err2 := p.Syms.Addr("__end_rodata")
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("bounds of .rodata: %v %v", err1, err2)
	}
	if codeBytes <= 0 || codeBytes > 1<<16 {
		return "", fmt.Errorf("code window of %d bytes", codeBytes)
	}
	code := make([]byte, codeBytes)
	if _, err := p.Mem.ReadVirtAt(code, fn); err != nil {
		return "", fmt.Errorf("code of %s: %w", function, err)
	}
	tried := map[uint64]bool{}
	for i := 0; i+4 <= len(code); i++ {
		d := int32(binary.LittleEndian.Uint32(code[i:]))
		for _, target := range []uint64{uint64(int64(d)), fn + uint64(i) + 4 + uint64(int64(d))} {
			if target < lo || target >= hi || tried[target] {
				continue
			}
			tried[target] = true
			head := make([]byte, len(prefix))
			if _, err := p.Mem.ReadVirtAt(head, target); err != nil || string(head) != prefix {
				continue
			}
			s, err := object.ReadCString(p.Mem, target, max)
			if err != nil {
				return "", err
			}
			return s, nil
		}
	}
	return "", fmt.Errorf("no string starting %q referenced by the first %d bytes of %s", strings.TrimSpace(prefix), codeBytes, function)
}
