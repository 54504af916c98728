package embedded

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestTimeOpenParts(t *testing.T) {
	dir := t.TempDir()
	for i := range 4 {
		name := "file:" + filepath.Join(dir, fmt.Sprint(i))
		t1 := time.Now()
		w, _ := sql.Open("sqlite", name+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_txlock=immediate")
		w.SetMaxOpenConns(1)
		w.Exec("SELECT 1")
		t2 := time.Now()
		s := &Store{w: w}
		if err := s.migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		t3 := time.Now()
		r, _ := sql.Open("sqlite", name+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
		r.Exec("SELECT 1")
		t4 := time.Now()
		t.Logf("conn %v migrate %v reader %v", t2.Sub(t1), t3.Sub(t2), t4.Sub(t3))
		r.Close(); w.Close()
	}
}
