package handlers

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestZZPerf(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; sb.Len() < 1<<20; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `"k%d":1`, i)
	}
	sb.WriteString("}")
	inputs := map[string]string{
		"many keys 1MiB": sb.String(),
		"long string":    `{"sub":"` + strings.Repeat(`\u00e9`, 1<<18) + `"}`,
		"array 1MiB":     `{"extra":[` + strings.Repeat("1,", 1<<19) + `1]}`,
		"batch":          `{"requests":[` + strings.Repeat(`{"sub":"alice@example.com","scope":"read_only"},`, 999) + `{"sub":"a"}]}`,
		"nested":         strings.Repeat(`{"a":`, 30) + "1" + strings.Repeat("}", 30),
	}
	for name, in := range inputs {
		var v mintRequest
		start := time.Now()
		err := decodeStrictJSON(strings.NewReader(in), &v)
		t.Logf("%s (%d bytes): %v err=%v", name, len(in), time.Since(start), err)
	}
}
