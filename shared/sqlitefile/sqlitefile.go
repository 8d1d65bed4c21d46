// Package sqlitefile opens the SQLite files behind crmsync's embedded table
// store and queue with one set of settings, so that both can share a file and
// several processes (the local host and the handler) can use it at once.
package sqlitefile

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go: no cgo)
)

// FileMode is the mode of the database file and of the -wal and -shm files
// SQLite keeps beside it: they hold the store's rows, for the owner only.
const FileMode fs.FileMode = 0o600

// DirMode is the mode of a folder Open creates for the file.
const DirMode fs.FileMode = 0o700

// BusyTimeout is how long a connection waits for another writer (possibly in
// another process) before giving up.
const BusyTimeout = 10 * time.Second

// Open opens path: WAL journal (readers never block the writer), a busy
// timeout so concurrent writers wait instead of failing, synchronous=FULL so
// a committed write survives a crash, and IMMEDIATE transactions so a
// transaction that reads before writing cannot fail on a lock upgrade.
//
// The file is the owner's only (FileMode), whatever the umask: Open creates it
// so before SQLite does (SQLite gives its -wal and -shm files the database
// file's mode), tightens an existing file, -wal or -shm that is looser, and
// creates a missing folder with DirMode. An existing folder is left as it is:
// it may be shared (a temp folder); the host tightens its own data folder.
func Open(path string) (*sql.DB, error) {
	if err := private(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// private makes path (and its -wal and -shm companions, when present) a file
// only its owner can read and write, creating it and its folder if needed.
func private(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), DirMode); err != nil {
		return fmt.Errorf("sqlitefile: folder for %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return fmt.Errorf("sqlitefile: %w", err)
	}
	_ = f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlitefile: %w", err)
		}
		if fi.Mode().Perm()&^FileMode != 0 {
			if err := os.Chmod(p, FileMode); err != nil {
				return fmt.Errorf("sqlitefile: making %s private: %w", p, err)
			}
		}
	}
	return nil
}
