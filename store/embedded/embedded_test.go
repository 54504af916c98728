package embedded_test

import (
	"path/filepath"
	"testing"

	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
	"github.com/enterprise-connect/broker/store/storetest"
)

// paths remembers which file each store of the suite was opened on, so that reopen can open
// the same file again.
type paths map[store.Store]string

// TestConformance runs the store contract against a fresh SQLite file per subtest.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

// TestConformanceReopen checks that every kind of record survives Close and Open of the
// same file (a broker restart).
func TestConformanceReopen(t *testing.T) {
	opened := paths{}
	storetest.RunReopen(t,
		func(t *testing.T) store.Store {
			s, path := openTemp(t)
			opened[s] = path
			return s
		},
		func(t *testing.T, s store.Store) store.Store {
			path := opened[s]
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openAt(t, path)
		})
}

// TestOpenTempHelperUsesBrokerDB keeps the suite's files named as the broker names them.
func TestOpenTempHelperUsesBrokerDB(t *testing.T) {
	_, path := openTemp(t)
	if filepath.Base(path) != "broker.db" {
		t.Fatalf("path = %q", path)
	}
	var _ store.Store = (*embedded.Store)(nil)
}
