package keyrotation

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync/local/ncrontab"
	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/keyring"
)

type countingResealer struct{ versions []int }

func (c *countingResealer) Reseal(ctx context.Context, version int) (keyring.ResealCounts, error) {
	c.versions = append(c.versions, version)
	return keyring.ResealCounts{Rows: 2, Values: 2, Resealed: 2, ByVersion: map[int]int{version: 2}}, nil
}

func TestRotationAddsAVersionAndResealsEverything(t *testing.T) {
	ring, err := keyring.OpenFileRing(filepath.Join(t.TempDir(), "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	before, err := ring.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a, b := &countingResealer{}, &countingResealer{}
	if _, err := New(slog.New(slog.DiscardHandler), ring, a, b).Run(context.Background(), funchost.TimerTrigger{}); err != nil {
		t.Fatal(err)
	}
	after, err := ring.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version+1 {
		t.Errorf("current version %d after rotation, want %d", after.Version, before.Version+1)
	}
	for name, r := range map[string]*countingResealer{"connections": a, "accounts": b} {
		if len(r.versions) != 1 || r.versions[0] != after.Version {
			t.Errorf("%s resealed for versions %v, want [%d]", name, r.versions, after.Version)
		}
	}
}

func TestScheduleIsValid(t *testing.T) {
	if _, err := ncrontab.Parse(Schedule); err != nil {
		t.Errorf("Schedule %q: %v", Schedule, err)
	}
}
