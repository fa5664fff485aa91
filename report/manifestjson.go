package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// marshalManifest is json.MarshalIndent(m, "", "  "), byte for byte, with
// the outputs written directly: reflection and the re-indenting pass over
// ~600 entries were 30-70 ms of a browser's report. The rest of the
// manifest goes through encoding/json with an empty outputs list, whose
// line is then replaced; manifest_test compares the two encodings.
func marshalManifest(m *Manifest) ([]byte, error) {
	head := *m
	head.Outputs = []Output{}
	b, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return nil, err
	}
	// A newline inside a JSON string is escaped, so this line is the
	// top-level key and nothing else.
	const marker = "\n  \"outputs\": []"
	i := bytes.Index(b, []byte(marker))
	if i < 0 || len(m.Outputs) == 0 {
		return b, nil
	}
	out := make([]byte, 0, len(b)+len(m.Outputs)*400)
	out = append(out, b[:i]...)
	out = append(out, "\n  \"outputs\": ["...)
	if out, err = appendOutputs(out, m.Outputs); err != nil {
		return nil, err
	}
	out = append(out, "\n  ]"...)
	return append(out, b[i+len(marker):]...), nil
}

// appendOutputs appends each output's object. The loop is a function of
// its own, and each output another: a browser compiles a function whose
// loop runs hundreds of times with its optimising compiler, at a cost
// that grows with the function's size.
func appendOutputs(out []byte, outputs []Output) ([]byte, error) {
	var err error
	for k := range outputs {
		if out, err = appendOutput(out, k, &outputs[k]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// appendOutput appends the k-th output's object (with the comma before it).
func appendOutput(out []byte, k int, o *Output) ([]byte, error) {
	var err error
	if k > 0 {
		out = append(out, ',')
	}
	out = append(out, "\n    {\n      \"path\": "...)
	out = appendJSONString(out, o.Path)
	out = append(out, ",\n      \"emitter\": "...)
	out = appendJSONString(out, o.Emitter)
	out = append(out, ",\n      \"status\": "...)
	out = appendJSONString(out, o.Status)
	out = append(out, ",\n      \"reasons\": "...)
	switch {
	case o.Reasons == nil:
		out = append(out, "null"...)
	case len(o.Reasons) == 0:
		out = append(out, "[]"...)
	default:
		out = append(out, '[')
		for r, s := range o.Reasons {
			if r > 0 {
				out = append(out, ',')
			}
			out = append(out, "\n        "...)
			out = appendJSONString(out, s)
		}
		out = append(out, "\n      ]"...)
	}
	out = append(out, ",\n      \"duration_ms\": "...)
	if out, err = appendJSONFloat(out, o.DurationMS); err != nil {
		return nil, err
	}
	out = append(out, ",\n      \"size\": "...)
	out = strconv.AppendInt(out, o.Size, 10)
	out = append(out, ",\n      \"sha256\": "...)
	out = appendJSONString(out, o.SHA256)
	return append(out, "\n    }"...), nil
}

// appendJSONString appends s as encoding/json writes it: plain printable
// ASCII as is, anything it escapes (quotes, backslashes, control and HTML
// characters, non-ASCII) through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONFloat appends f as encoding/json writes a float64: %f's
// digits in the range where it uses them, encoding/json itself elsewhere
// (exponents; NaN and infinities, which it refuses with an error).
func appendJSONFloat(b []byte, f float64) ([]byte, error) {
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, 64), nil
	}
	q, err := json.Marshal(f)
	return append(b, q...), err
}
