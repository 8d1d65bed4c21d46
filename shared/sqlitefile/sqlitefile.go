// Package sqlitefile opens the SQLite files behind crmsync's embedded table
// store and queue with one set of settings, so that both can share a file and
// several processes (the local host and the handler) can use it at once.
package sqlitefile

import (
	"database/sql"
	"net/url"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go: no cgo)
)

// BusyTimeout is how long a connection waits for another writer (possibly in
// another process) before giving up.
const BusyTimeout = 10 * time.Second

// Open opens path: WAL journal (readers never block the writer), a busy
// timeout so concurrent writers wait instead of failing, synchronous=FULL so
// a committed write survives a crash, and IMMEDIATE transactions so a
// transaction that reads before writing cannot fail on a lock upgrade.
func Open(path string) (*sql.DB, error) {
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
