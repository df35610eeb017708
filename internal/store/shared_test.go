package store

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
)

func TestSharedState(t *testing.T) { bothStores(t, testSharedState) }

// Shared state: a value per key, read by every mediator; changes made at
// once by several mediators (and goroutines) each see the one before, so
// none is lost; a failed change changes nothing.
func testSharedState(t *testing.T, db testDB) {
	ctx := t.Context()
	a := db.open(t, nil)
	b := db.openWith(t, Config{})
	if got, err := a.LoadShared(ctx, "counter"); err != nil || got != nil {
		t.Fatalf("LoadShared of a key never set = %q, %v; want nil", got, err)
	}
	increment := func(old []byte) ([]byte, error) {
		n := 0
		if old != nil {
			var err error
			if n, err = strconv.Atoi(string(old)); err != nil {
				return nil, err
			}
		}
		return []byte(strconv.Itoa(n + 1)), nil
	}
	const perStore = 25
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			for range perStore {
				if err := s.UpdateShared(ctx, "counter", increment); err != nil {
					t.Errorf("UpdateShared: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, s := range []*Store{a, b} {
		got, err := s.LoadShared(ctx, "counter")
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint(4 * perStore); string(got) != want {
			t.Errorf("counter = %q, want %s: a concurrent change was lost", got, want)
		}
	}

	refused := errors.New("refused")
	if err := b.UpdateShared(ctx, "counter", func([]byte) ([]byte, error) { return []byte("x"), refused }); !errors.Is(err, refused) {
		t.Errorf("UpdateShared with a failing update = %v, want its error", err)
	}
	if err := b.UpdateShared(ctx, "other", func(old []byte) ([]byte, error) {
		if old != nil {
			t.Errorf("old value of a new key = %q, want nil", old)
		}
		return []byte(`{"a":1}`), nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.LoadShared(ctx, "counter"); string(got) != fmt.Sprint(4*perStore) {
		t.Errorf("counter after a failed update = %q", got)
	}
	if got, _ := a.LoadShared(ctx, "other"); string(got) != `{"a":1}` {
		t.Errorf("other = %q", got)
	}
}
