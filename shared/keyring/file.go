package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"
)

// fileFormat marks the JSON layout so that a later layout can be told apart.
const fileFormat = "crmsync-keyring-v1"

// fileData is the JSON document a FileRing keeps on disk.
type fileData struct {
	Format string    `json:"format"`
	Keys   []fileKey `json:"keys"`
}

// fileKey is one version on disk. A retired version keeps its number (so it
// is never reused) but loses its material.
type fileKey struct {
	Version int        `json:"version"`
	Key     []byte     `json:"key,omitempty"`
	Created time.Time  `json:"created"`
	Retired *time.Time `json:"retired,omitempty"`
}

// FileRing is a key ring in a JSON file readable by its owner only (0600). It
// serves local and on-premises runs, where no Key Vault exists.
//
// Writes replace the file atomically (temporary file, fsync, rename), so a
// reader never sees half a file. Another process's writes are picked up on the
// next call, because the file's size and modification time are checked on
// every Current and on every miss in Key. Two processes adding keys at the
// same instant can lose one Add; rotation runs from one timer, so that does
// not happen in practice.
type FileRing struct {
	path string

	mu      sync.Mutex
	data    fileData
	keys    map[int]Key
	modTime time.Time
	size    int64
}

// OpenFileRing opens the key ring at path, creating it (and its directory,
// 0700) with one fresh key when it does not exist. It refuses a file that its
// group or others may read or write, and a file that is not a valid ring.
func OpenFileRing(path string) (*FileRing, error) {
	if path == "" {
		return nil, errors.New("keyring: empty key ring file path")
	}
	r := &FileRing{path: path}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := r.create(); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// create writes a new ring with one key. It links the finished temporary file
// into place, which fails when another process created the file first; then
// that file wins and is loaded instead.
func (r *FileRing) create() error {
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	material, err := newMaterial()
	if err != nil {
		return err
	}
	d := fileData{Format: fileFormat, Keys: []fileKey{{Version: 1, Key: material, Created: time.Now().UTC()}}}
	tmp, err := writeTemp(r.path, d)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, r.path); err != nil && !errors.Is(err, fs.ErrExist) {
		// Some file systems have no hard links; fall back to a rename.
		if err := os.Rename(tmp, r.path); err != nil {
			return fmt.Errorf("keyring: %w", err)
		}
	}
	return syncDir(r.path)
}

// load reads and validates the file. The caller holds r.mu.
func (r *FileRing) load() error {
	f, err := os.Open(r.path)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if err := checkPrivate(r.path, fi); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return fmt.Errorf("keyring: reading %s: %w", r.path, err)
	}
	d, keys, err := parseFile(buf.Bytes())
	if err != nil {
		return fmt.Errorf("keyring: %s: %w", r.path, err)
	}
	r.data, r.keys, r.modTime, r.size = d, keys, fi.ModTime(), fi.Size()
	return nil
}

// checkPrivate refuses a ring file that anyone but its owner can read or
// write. Windows has no such mode bits; there the ACL is the operator's job.
func checkPrivate(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("keyring: %s is not a regular file", path)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("keyring: %s has mode %04o: group or others may access it; run chmod 600 on it", path, perm)
	}
	return nil
}

// parseFile validates a ring document and indexes its active keys.
func parseFile(b []byte) (fileData, map[int]Key, error) {
	var d fileData
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return fileData{}, nil, fmt.Errorf("not a key ring file: %w", err)
	}
	if d.Format != fileFormat {
		return fileData{}, nil, fmt.Errorf("format %q, want %q", d.Format, fileFormat)
	}
	keys := make(map[int]Key, len(d.Keys))
	seen := make(map[int]bool, len(d.Keys))
	for _, fk := range d.Keys {
		if seen[fk.Version] {
			return fileData{}, nil, fmt.Errorf("key version %d appears twice", fk.Version)
		}
		seen[fk.Version] = true
		if fk.Retired != nil {
			if len(fk.Key) != 0 {
				return fileData{}, nil, fmt.Errorf("retired key version %d still holds key material", fk.Version)
			}
			continue
		}
		k, err := NewKey(fk.Version, fk.Key)
		if err != nil {
			return fileData{}, nil, err
		}
		keys[fk.Version] = k
	}
	if len(keys) == 0 {
		return fileData{}, nil, errors.New("no active key")
	}
	return d, keys, nil
}

// refresh reloads the file when another writer changed it. The caller holds r.mu.
func (r *FileRing) refresh() error {
	fi, err := os.Stat(r.path)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if fi.ModTime().Equal(r.modTime) && fi.Size() == r.size {
		return nil
	}
	return r.load()
}

// Current returns the highest active version.
func (r *FileRing) Current(ctx context.Context) (Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.refresh(); err != nil {
		return Key{}, err
	}
	return r.keys[slices.Max(activeVersions(r.keys))], nil
}

// Key returns one active version.
func (r *FileRing) Key(ctx context.Context, version int) (Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[version]; ok {
		return k, nil
	}
	if err := r.refresh(); err != nil {
		return Key{}, err
	}
	if k, ok := r.keys[version]; ok {
		return k, nil
	}
	return Key{}, fmt.Errorf("key version %d: %w", version, ErrUnknownKey)
}

// Versions lists the active versions in ascending order.
func (r *FileRing) Versions(ctx context.Context) ([]int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.refresh(); err != nil {
		return nil, err
	}
	return activeVersions(r.keys), nil
}

// Add appends a fresh key above every version ever used and makes it current.
func (r *FileRing) Add(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.refresh(); err != nil {
		return 0, err
	}
	material, err := newMaterial()
	if err != nil {
		return 0, err
	}
	next := 1
	for _, fk := range r.data.Keys {
		next = max(next, fk.Version+1)
	}
	d := r.data
	d.Keys = append(slices.Clone(d.Keys), fileKey{Version: next, Key: material, Created: time.Now().UTC()})
	if err := r.write(d); err != nil {
		return 0, err
	}
	return next, nil
}

// Retire drops a version's material for good, keeping its number as used.
func (r *FileRing) Retire(ctx context.Context, version int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.refresh(); err != nil {
		return err
	}
	if _, ok := r.keys[version]; !ok {
		return fmt.Errorf("retire key version %d: %w", version, ErrUnknownKey)
	}
	if version == slices.Max(activeVersions(r.keys)) {
		return fmt.Errorf("retire key version %d: %w", version, ErrRetireCurrent)
	}
	now := time.Now().UTC()
	d := r.data
	d.Keys = slices.Clone(d.Keys)
	for i := range d.Keys {
		if d.Keys[i].Version == version {
			d.Keys[i].Key, d.Keys[i].Retired = nil, &now
		}
	}
	return r.write(d)
}

// write replaces the file atomically and reloads it. The caller holds r.mu.
func (r *FileRing) write(d fileData) error {
	tmp, err := writeTemp(r.path, d)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, r.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keyring: %w", err)
	}
	if err := syncDir(r.path); err != nil {
		return err
	}
	return r.load()
}

// writeTemp writes d to a new 0600 file beside path, synced to disk, and
// returns its name.
func writeTemp(path string, d fileData) (string, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	name := f.Name()
	// CreateTemp already uses 0600; Chmod makes it explicit whatever the umask.
	err = errors.Join(f.Chmod(0o600), write(f, append(b, '\n')), f.Sync(), f.Close())
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("keyring: writing %s: %w", name, err)
	}
	return name, nil
}

func write(f *os.File, b []byte) error {
	_, err := f.Write(b)
	return err
}

// syncDir makes a rename durable. Directories cannot be synced on Windows.
func syncDir(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

func activeVersions(keys map[int]Key) []int {
	vs := make([]int, 0, len(keys))
	for v := range keys {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

func newMaterial() ([]byte, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return b, nil
}

// Path returns the file the ring lives in.
func (r *FileRing) Path() string { return r.path }
