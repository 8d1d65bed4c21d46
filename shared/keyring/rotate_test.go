package keyring_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/keyring"
)

// fakeResealer reports that values remain under the given versions.
type fakeResealer struct {
	remaining map[int]int
	err       error
	got       []int
}

func (f *fakeResealer) Reseal(_ context.Context, version int) (keyring.ResealCounts, error) {
	f.got = append(f.got, version)
	by := map[int]int{version: 10}
	for v, n := range f.remaining {
		by[v] += n
	}
	return keyring.ResealCounts{ByVersion: by}, f.err
}

func TestRotateRetiresOnlyOldUnusedVersions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		versions    int // versions before rotating; the last is current
		remaining   map[int]int
		wantRetired []int
		wantActive  []int
	}{
		{"first rotation keeps the previous version", 1, nil, nil, []int{1, 2}},
		{"second rotation retires the version before", 2, nil, []int{1}, []int{2, 3}},
		{"several old versions at once", 4, nil, []int{1, 2, 3}, []int{4, 5}},
		{"a version still in use is kept", 3, map[int]int{1: 1}, []int{2}, []int{1, 3, 4}},
		{"the previous version in use is kept anyway", 2, map[int]int{2: 5}, []int{1}, []int{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := keyring.OpenFileRing(filepath.Join(t.TempDir(), "ring.json"))
			if err != nil {
				t.Fatal(err)
			}
			for range tt.versions - 1 {
				if _, err := r.Add(ctx); err != nil {
					t.Fatal(err)
				}
			}
			f := &fakeResealer{remaining: tt.remaining}
			rep, err := keyring.Rotate(ctx, r, f)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Previous != tt.versions || rep.Version != tt.versions+1 {
				t.Errorf("report versions %d → %d, want %d → %d", rep.Previous, rep.Version, tt.versions, tt.versions+1)
			}
			if diff := cmp.Diff([]int{rep.Version}, f.got); diff != "" {
				t.Errorf("Reseal called with (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRetired, rep.Retired); diff != "" {
				t.Errorf("retired (-want +got):\n%s", diff)
			}
			active, _ := r.Versions(ctx)
			if diff := cmp.Diff(tt.wantActive, active); diff != "" {
				t.Errorf("active versions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRotateRetiresNothingWhenResealFails(t *testing.T) {
	ctx := context.Background()
	r, err := keyring.OpenFileRing(filepath.Join(t.TempDir(), "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	r.Add(ctx)
	r.Add(ctx)
	boom := errors.New("table store down")
	rep, err := keyring.Rotate(ctx, r, &fakeResealer{err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Rotate error = %v, want the reseal error", err)
	}
	if len(rep.Retired) != 0 {
		t.Errorf("retired %v after a failed reseal", rep.Retired)
	}
	if active, _ := r.Versions(ctx); !cmp.Equal(active, []int{1, 2, 3, 4}) {
		t.Errorf("active versions = %v, want all of 1..4 (old versions keep opening)", active)
	}
}
