package embedded_test

import (
	"testing"

	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/storetest"
)

// paths remembers which file each store of the suite was opened on, so that reopen can open
// the same file again. RunReopen runs its case sequentially, so a plain map will do.
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
