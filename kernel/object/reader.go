package object

// Reader reads many values and keeps the first error, so that a run of
// reads is checked once, as an Object keeps the first error along a path:
//
//	var rd object.Reader
//	blocks := rd.Uint(info.Member("max_blocks"))
//	full := rd.Bool(info.Member("full_inums"))
//	if err := rd.Err(); err != nil {
//		return err
//	}
//
// Once a read has failed, the later ones are not made and give zero
// values.
type Reader struct{ err error }

// Uint reads o as an unsigned integer (Object.Uint).
func (r *Reader) Uint(o Object) uint64 { return keep(r, o.Uint) }

// Int reads o as a signed integer (Object.Int).
func (r *Reader) Int(o Object) int64 { return keep(r, o.Int) }

// Bool reads o as a bool (Object.Bool).
func (r *Reader) Bool(o Object) bool { return keep(r, o.Bool) }

// CString reads the NUL-terminated string at o (Object.CString).
func (r *Reader) CString(o Object) string { return keep(r, o.CString) }

// keep makes read unless a read has failed, keeping its error.
func keep[T any](r *Reader, read func() (T, error)) T {
	if r.err != nil {
		var zero T
		return zero
	}
	v, err := read()
	r.err = err
	return v
}

// Check keeps err when it is the first: the error of a read the Reader
// does not make itself (a helper's, an Object's own).
func (r *Reader) Check(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Err is the first error of the reads, nil when all succeeded.
func (r *Reader) Err() error { return r.err }
