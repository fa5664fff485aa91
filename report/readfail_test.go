package report

import (
	"context"
	"fmt"
	"testing"

	"github.com/vmcore-report/vmcore-report/emitters"
	"github.com/vmcore-report/vmcore-report/internal/fixtures"
)

// frontEndReadError is a front end's reader failing (a browser File no
// longer readable), as Classify tells it.
type frontEndReadError struct{}

func (frontEndReadError) Error() string    { return "read vmcore: NotReadableError" }
func (frontEndReadError) ReadFailed() bool { return true }

// TestReadFailureStopsTheRun: an input the front end can no longer read in
// the middle of a run stops it (every later read would fail the same way),
// where any other error of an output fails that output only.
func TestReadFailureStopsTheRun(t *testing.T) {
	s := fixtures.All(t)[0]
	k := openFixture(t, s, s.RefRole(), true)
	list := []*emitters.Emitter{
		{Path: "a", Run: func(*emitters.Context, int64, *emitters.Output) error {
			return fmt.Errorf("a: %w", frontEndReadError{})
		}},
		{Path: "b", Run: func(*emitters.Context, int64, *emitters.Output) error { panic("must not run") }},
	}
	sink := newMemSink()
	_, err := Run(context.Background(), k, Options{Emitters: list}, sink)
	if Classify(err) != KindReadFailed || len(sink.names) != 0 {
		t.Errorf("error %v (%s), files %q: want the run stopped as read-failed, nothing written", err, Classify(err), sink.names)
	}
}
