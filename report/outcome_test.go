package report

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// The live outcomes (Options.Outcome, the browser's progress) are the
// manifest's outputs, one each, in order.
func TestOutcomesAreTheManifest(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	var live []Output
	m, err := Run(context.Background(), emptyKernel(), Options{
		Emitters: testEmitters(hang), EmitterDeadline: 300 * time.Millisecond, ToolVersion: "test",
		Outcome: func(o Output) { live = append(live, o) },
	}, newMemSink())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(live, m.Outputs) {
		t.Errorf("live outcomes %+v\nmanifest %+v", live, m.Outputs)
	}
}
