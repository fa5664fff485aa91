package report

import "runtime/debug"

// version is set at link time:
// -ldflags "-X github.com/vmcore-report/vmcore-report/report.version=v1.2.3".
var version = "devel"

// Version is the tool's version for the manifest and version.txt, the same
// for the CLI and the browser: the one set at link time, else the
// module's, else "devel".
func Version() string {
	if version != "devel" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}
