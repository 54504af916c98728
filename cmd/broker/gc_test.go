package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC_DefaultsTo400UnlessTheOperatorChose(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100)) // restore whatever the test binary had
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	tuneGC(getenv)
	if got := debug.SetGCPercent(100); got != serveGCPercent {
		t.Fatalf("no GOGC set: GC percent %d, want %d", got, serveGCPercent)
	}
	for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
		env = map[string]string{k: "50"}
		debug.SetGCPercent(100)
		tuneGC(getenv)
		if got := debug.SetGCPercent(100); got != 100 {
			t.Fatalf("%s set: tuneGC changed the GC percent to %d", k, got)
		}
	}
}
