// Package ringtest is the conformance suite every keyring.Ring passes. A
// ring's own test calls Run with a Harness that makes fresh rings and opens a
// second instance over the same storage (as another process would).
package ringtest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/shared/keyring"
)

// Harness makes rings for the suite.
type Harness struct {
	// New returns a ring over fresh, empty storage.
	New func(t *testing.T) keyring.Ring
	// Reopen returns a second, independent instance over the same storage
	// as r, with empty caches.
	Reopen func(t *testing.T, r keyring.Ring) keyring.Ring
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("FreshRingHasOneCurrentKey", func(t *testing.T) {
		r := h.New(t)
		cur := mustCurrent(t, r)
		if cur.Version < 1 {
			t.Fatalf("Current().Version = %d, want >= 1", cur.Version)
		}
		got := mustKey(t, r, cur.Version)
		if !got.Equal(cur) {
			t.Errorf("Key(%d) differs from Current()", cur.Version)
		}
		if _, err := cur.AEAD(); err != nil {
			t.Errorf("Current().AEAD(): %v", err)
		}
		vs := mustVersions(t, r)
		if want := []int{cur.Version}; !slices.Equal(vs, want) {
			t.Errorf("Versions() = %v, want %v", vs, want)
		}
	})

	t.Run("AddMakesANewDistinctCurrentKey", func(t *testing.T) {
		r := h.New(t)
		old := mustCurrent(t, r)
		v, err := r.Add(ctx)
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		if v <= old.Version {
			t.Fatalf("Add() = %d, want above %d", v, old.Version)
		}
		cur := mustCurrent(t, r)
		if cur.Version != v {
			t.Errorf("Current().Version = %d after Add, want %d", cur.Version, v)
		}
		if cur.Equal(old) || sameMaterial(t, cur, old) {
			t.Errorf("new key version %d has the same material as version %d", v, old.Version)
		}
		if got := mustKey(t, r, old.Version); !got.Equal(old) {
			t.Errorf("Key(%d) changed after Add", old.Version)
		}
		if vs, want := mustVersions(t, r), []int{old.Version, v}; !slices.Equal(vs, want) {
			t.Errorf("Versions() = %v, want %v", vs, want)
		}
	})

	t.Run("UnknownVersion", func(t *testing.T) {
		r := h.New(t)
		cur := mustCurrent(t, r)
		for _, v := range []int{0, -1, cur.Version + 1, 1 << 30} {
			if _, err := r.Key(ctx, v); !errors.Is(err, keyring.ErrUnknownKey) {
				t.Errorf("Key(%d) error = %v, want ErrUnknownKey", v, err)
			}
		}
	})

	t.Run("RetireStopsAVersionForGood", func(t *testing.T) {
		r := h.New(t)
		old := mustCurrent(t, r)
		v2, err := r.Add(ctx)
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		if err := r.Retire(ctx, old.Version); err != nil {
			t.Fatalf("Retire(%d): %v", old.Version, err)
		}
		if _, err := r.Key(ctx, old.Version); !errors.Is(err, keyring.ErrUnknownKey) {
			t.Errorf("Key(%d) after Retire: error = %v, want ErrUnknownKey", old.Version, err)
		}
		if vs, want := mustVersions(t, r), []int{v2}; !slices.Equal(vs, want) {
			t.Errorf("Versions() = %v, want %v", vs, want)
		}
		if err := r.Retire(ctx, old.Version); !errors.Is(err, keyring.ErrUnknownKey) {
			t.Errorf("second Retire(%d): error = %v, want ErrUnknownKey", old.Version, err)
		}
		v3, err := r.Add(ctx)
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		if v3 <= v2 {
			t.Errorf("Add() after Retire = %d, want above %d (numbers are never reused)", v3, v2)
		}
		other := h.Reopen(t, r)
		if _, err := other.Key(ctx, old.Version); !errors.Is(err, keyring.ErrUnknownKey) {
			t.Errorf("reopened Key(%d): error = %v, want ErrUnknownKey", old.Version, err)
		}
	})

	t.Run("CurrentCannotBeRetired", func(t *testing.T) {
		r := h.New(t)
		cur := mustCurrent(t, r)
		if err := r.Retire(ctx, cur.Version); !errors.Is(err, keyring.ErrRetireCurrent) {
			t.Fatalf("Retire(current) error = %v, want ErrRetireCurrent", err)
		}
		if got := mustKey(t, r, cur.Version); !got.Equal(cur) {
			t.Errorf("current key changed after a refused Retire")
		}
		if err := r.Retire(ctx, cur.Version+5); !errors.Is(err, keyring.ErrUnknownKey) {
			t.Errorf("Retire(unknown) error = %v, want ErrUnknownKey", err)
		}
	})

	t.Run("AnotherInstanceSeesTheSameKeys", func(t *testing.T) {
		r := h.New(t)
		k1 := mustCurrent(t, r)
		v2, err := r.Add(ctx)
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		k2 := mustKey(t, r, v2)
		other := h.Reopen(t, r)
		if got := mustCurrent(t, other); !got.Equal(k2) {
			t.Errorf("reopened Current() = %v, want %v with the same material", got, k2)
		}
		if got := mustKey(t, other, k1.Version); !got.Equal(k1) {
			t.Errorf("reopened Key(%d) has different material", k1.Version)
		}
		// A key added through the second instance is readable through the first.
		v3, err := other.Add(ctx)
		if err != nil {
			t.Fatalf("Add on reopened ring: %v", err)
		}
		if got, want := mustKey(t, r, v3), mustKey(t, other, v3); !got.Equal(want) {
			t.Errorf("Key(%d) differs between instances", v3)
		}
	})

	t.Run("ConcurrentUse", func(t *testing.T) {
		r := h.New(t)
		first := mustCurrent(t, r)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for range 8 {
			wg.Go(func() {
				for range 4 {
					if _, err := r.Current(ctx); err != nil {
						errs <- err
					}
					if _, err := r.Key(ctx, first.Version); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Go(func() {
			if _, err := r.Add(ctx); err != nil {
				errs <- err
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// sameMaterial tells keys of different versions apart by their material: a
// value sealed with one opens with the other only when the material matches.
func sameMaterial(t *testing.T, a, b keyring.Key) bool {
	t.Helper()
	ea, err := a.AEAD()
	if err != nil {
		t.Fatal(err)
	}
	eb, err := b.AEAD()
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, ea.NonceSize())
	ct := ea.Seal(nil, nonce, []byte("probe"), nil)
	_, err = eb.Open(nil, nonce, ct, nil)
	return err == nil
}

func mustCurrent(t *testing.T, r keyring.Ring) keyring.Key {
	t.Helper()
	k, err := r.Current(context.Background())
	if err != nil {
		t.Fatalf("Current: %v", err)
	}
	return k
}

func mustKey(t *testing.T, r keyring.Ring, v int) keyring.Key {
	t.Helper()
	k, err := r.Key(context.Background(), v)
	if err != nil {
		t.Fatalf("Key(%d): %v", v, err)
	}
	return k
}

func mustVersions(t *testing.T, r keyring.Ring) []int {
	t.Helper()
	vs, err := r.Versions(context.Background())
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	return vs
}
