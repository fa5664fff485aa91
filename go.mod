module github.com/vmcore-report/vmcore-report

go 1.26

require (
	github.com/anchore/go-lzo v0.1.1
	github.com/andybalholm/brotli v1.3.0
	github.com/golang/snappy v1.0.0
	github.com/klauspost/compress v1.20.4
	github.com/ulikunitz/xz v0.5.17
)
