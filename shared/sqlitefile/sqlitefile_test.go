package sqlitefile

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// perm returns path's permission bits.
func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestOpenMakesPrivateFiles: whatever the umask, a new database and the
// -wal and -shm files SQLite creates beside it are 0600 and a folder Open
// creates is 0700; an existing database left 0644 by an older build is
// tightened.
func TestOpenMakesPrivateFiles(t *testing.T) {
	old := syscall.Umask(0o022) // the common default, which gives 0644 files
	t.Cleanup(func() { syscall.Umask(old) })

	t.Run("new file in a new folder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		path := filepath.Join(dir, "tables.db")
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		if got := perm(t, dir); got != DirMode {
			t.Errorf("folder %o, want %o", got, DirMode)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if got := perm(t, p); got != FileMode {
				t.Errorf("%s: %o, want %o", filepath.Base(p), got, FileMode)
			}
		}
	})
	t.Run("existing loose files", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "queues.db")
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		db2, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		db.Close()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if _, err := os.Stat(p); err != nil {
				continue // SQLite may have checkpointed the WAL away on close
			}
			if got := perm(t, p); got != FileMode {
				t.Errorf("%s: %o after reopening, want %o", filepath.Base(p), got, FileMode)
			}
		}
		var n int
		if err := db2.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != 1 {
			t.Errorf("reopened store: %d rows, %v; want the row written before", n, err)
		}
	})
}
