package sides_test

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
	"strings"
)

func TestDbg(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		w := newPWorld(t)
		defer w.close()
		w.logs = &strings.Builder{}
		w.runner.Log = slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		w.sf.Insert(w.sfID, "Contact", map[string]any{"LastName": "X", "Email": "x@acme.example"})
		rep, err, _ := w.run(0)
		t.Logf("%+v %v\n%s", rep, err, w.logs.String())
	})
}
