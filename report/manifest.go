package report

// SchemaVersion is the version of the manifest layout below. It grows by
// one whenever a field is removed, renamed or changes meaning; new fields
// may appear without a bump. docs/manifest.md describes every field.
const SchemaVersion = 1

// Output statuses.
const (
	StatusOK            = "ok"             // the file holds everything its emitter writes
	StatusPartial       = "partial"        // written, but some values could not be read (Reasons)
	StatusFailed        = "failed"         // not written: error, panic, deadline or not run
	StatusNotApplicable = "not-applicable" // this kernel has nothing to write there
)

// Manifest is sos_reports/manifest.json. The struct and its json tags are
// the schema.
type Manifest struct {
	Schema  int       `json:"schema_version"`
	Tool    Tool      `json:"tool"`
	Run     RunInfo   `json:"run"`
	Inputs  Inputs    `json:"inputs"`
	Kernel  Crashed   `json:"kernel"`
	Debug   DebugInfo `json:"debug_info"`
	Summary Summary   `json:"summary"`
	// Enumerations are the lists computed once per run and expanded into
	// per-item outputs (key "pid": the thread-group leaders).
	Enumerations map[string]Enumeration `json:"enumerations"`
	// Outputs has one entry per file the run tried to write, in archive
	// order; every selected emitter has at least one.
	Outputs []Output `json:"outputs"`
	// Skipped lists the emitters --only/--skip left out entirely.
	Skipped []string `json:"skipped_emitters"`
}

// Tool names the program that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// RunInfo describes the run. Started and the durations are the only values
// (with each output's DurationMS) that differ between runs on the same
// inputs.
type RunInfo struct {
	Started           string   `json:"started"` // RFC 3339, UTC
	DurationMS        float64  `json:"duration_ms"`
	EmitterDeadlineMS int64    `json:"emitter_deadline_ms"`
	DeadlineMS        int64    `json:"deadline_ms"`
	DeadlineExceeded  bool     `json:"deadline_exceeded"`
	Only              []string `json:"only"`
	Skip              []string `json:"skip"`
}

// Inputs are the files analysed.
type Inputs struct {
	Dump DumpInput `json:"dump"`
	// Vmlinux is null when the dump was read alone (symbols from kallsyms,
	// types from the kernel's own BTF; see DebugInfo).
	Vmlinux *FileInput `json:"vmlinux"`
}

// FileInput is an input file: its base name (never the path on the
// analysing machine) and size.
type FileInput struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// DumpInput is what the dump's headers say, plus what reading it found.
type DumpInput struct {
	Format string `json:"format"`          // elf, kdump, flattened, kdump-split
	Inner  string `json:"inner,omitempty"` // for flattened: kdump or elf
	// Compression is the dump-wide choice the header declares;
	// CompressionsSeen the codecs met in pages read during this run.
	Compression      string   `json:"compression"`
	CompressionsSeen []string `json:"compressions_seen"`
	DumpLevel        int      `json:"dump_level"` // makedumpfile -d; -1 when the format does not record it
	Incomplete       bool     `json:"incomplete"` // the producer marked the dump incomplete
	Truncated        bool     `json:"truncated"`  // the files end before data they describe
	DumpedPages      int64    `json:"dumped_pages"`
	PageSize         int      `json:"page_size"`
	HeaderVersion    int      `json:"header_version,omitempty"`
	Machine          string   `json:"machine,omitempty"`
	Timestamp        string   `json:"header_timestamp,omitempty"` // kdump header time, RFC 3339
	NrCPUs           int      `json:"nr_cpus,omitempty"`
	Split            bool     `json:"split"`
	Parts            []Part   `json:"parts"`
	Warnings         []string `json:"warnings"`
	// MissingKernelPages lists kernel objects (slab pages) the dump lacks
	// although every makedumpfile dump level keeps them: the makedumpfile
	// that made it did not know the kernel (Warnings says what to do).
	// A probe before the emitters finds the first; an output that fails
	// on a page its struct page says is slab adds that page.
	MissingKernelPages []string `json:"missing_kernel_pages,omitempty"`
}

// Part is one file of the dump.
type Part struct {
	Name      string `json:"name"`
	Size      int64  `json:"size"`
	StartPFN  uint64 `json:"start_pfn"`
	EndPFN    uint64 `json:"end_pfn"`
	Split     bool   `json:"split"`
	Flattened bool   `json:"flattened"`
	Truncated bool   `json:"truncated"`
	// WantSize is the size the file's headers imply (absent when not
	// known): with Size, "truncated at Size of WantSize bytes".
	WantSize int64 `json:"want_size,omitempty"`
}

// Crashed is the crashed kernel's identity and last words.
type Crashed struct {
	Release       string `json:"release"`
	BuildID       string `json:"build_id"`
	Nodename      string `json:"nodename"`
	CrashTime     string `json:"crash_time"`      // RFC 3339 UTC; "" when unknown
	CrashTimeFrom string `json:"crash_time_from"` // VMCOREINFO CRASHTIME, kernel timekeeper, kdump header, unknown
	PanicMessage  string `json:"panic_message"`   // text after "Kernel panic - not syncing: "
	Taint         *Taint `json:"taint"`           // null when tainted_mask could not be read
	// CPUs: the panicking CPU and which CPUs panic() stopped. Without kdump
	// the stopped CPUs leave cpu_online_mask, so sys/devices/system/cpu/online
	// shows the dump's mask while per-CPU files list every CPU that ran.
	CPUs *CPUs `json:"cpus"`
	// Culprit is the first frame of the panicking CPU's stack outside the
	// panic, oops, kexec and NMI machinery; PanicFrames are that CPU's
	// first frames (%pS), innermost first. Empty when unknown.
	Culprit     string   `json:"culprit"`
	PanicFrames []string `json:"panic_frames"`
	// Unreadable maps a field left empty above to why it could not be read.
	Unreadable map[string]string `json:"unreadable"`
}

// CPUs describes the CPUs at the crash, as cpumask lists ("0-1").
type CPUs struct {
	PanicCPU           *int64 `json:"panic_cpu"` // null when panic_cpu was unset (no panic()) or unreadable
	OnlineInDump       string `json:"online_in_dump"`
	RunningBeforePanic string `json:"running_before_panic"`
	StoppedByPanic     string `json:"stopped_by_panic"`
}

// Taint is the kernel's tainted_mask and its letters, as print_tainted()
// shows them for the set bits.
type Taint struct {
	Mask    uint64 `json:"mask"`
	Letters string `json:"letters"`
}

// DebugInfo says where symbols, types and VMCOREINFO came from.
type DebugInfo struct {
	Mode       string `json:"mode"` // "vmlinux" or "dump-only"
	Types      string `json:"types"`
	Symbols    string `json:"symbols"`
	VMCOREINFO string `json:"vmcoreinfo"`
	// Fallbacks says which debug-information sources were passed over
	// and why (a damaged VMCOREINFO note, a vmlinux without .symtab,
	// kallsyms cut short by an unreadable page…).
	Fallbacks []string `json:"fallbacks"`
}

// Summary counts outputs by status.
type Summary struct {
	Emitters      int   `json:"emitters"` // emitters selected
	Outputs       int   `json:"outputs"`
	FilesWritten  int   `json:"files_written"`
	BytesWritten  int64 `json:"bytes_written"`
	OK            int   `json:"ok"`
	Partial       int   `json:"partial"`
	Failed        int   `json:"failed"`
	NotApplicable int   `json:"not_applicable"`
}

// Enumeration is one shared list.
type Enumeration struct {
	Count int    `json:"count"`
	Error string `json:"error,omitempty"` // the walk stopped early; Count items were found
}

// Output is one file of the report (or the attempt at one).
type Output struct {
	Path       string   `json:"path"`    // relative to the archive's top folder
	Emitter    string   `json:"emitter"` // the registry path template, e.g. proc/{pid}/status
	Status     string   `json:"status"`  // ok, partial, failed, not-applicable
	Reasons    []string `json:"reasons"` // why not ok
	DurationMS float64  `json:"duration_ms"`
	Size       int64    `json:"size"`   // bytes written; 0 when not written
	SHA256     string   `json:"sha256"` // of the bytes written; "" when not written
}
