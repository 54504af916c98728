package embedded_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/enterprise-connect/broker/store/embedded"
)

func TestTimeOpen(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		start := time.Now()
		s, err := embedded.Open(t.Context(), filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		mid := time.Now()
		s.Close()
		t.Logf("open %v close %v", mid.Sub(start), time.Since(mid))
	}
}
