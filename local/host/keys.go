package host

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Keys authorize HTTP triggers: function-level routes take either key,
// admin-level routes only the admin key.
type Keys struct {
	Function string `json:"functionKey"`
	Admin    string `json:"adminKey"`
}

// LoadKeys uses the keys given (from settings) and fills what is missing from
// the keys file, creating the file with fresh random keys when absent.
func LoadKeys(path string, given Keys) (Keys, error) {
	if given.Function != "" && given.Admin != "" {
		return given, nil
	}
	var file Keys
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		file = Keys{Function: randomKey(), Admin: randomKey()}
		b, _ := json.MarshalIndent(file, "", "  ")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return Keys{}, err
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
			return Keys{}, fmt.Errorf("writing keys file: %w", err)
		}
	case err != nil:
		return Keys{}, err
	default:
		if err := json.Unmarshal(raw, &file); err != nil || file.Function == "" || file.Admin == "" {
			return Keys{}, fmt.Errorf("%s: want {\"functionKey\": \"…\", \"adminKey\": \"…\"}", path)
		}
		// A file written by hand or by an older build may be readable by others.
		if err := PrivateFile(path); err != nil {
			return Keys{}, err
		}
	}
	if given.Function == "" {
		given.Function = file.Function
	}
	if given.Admin == "" {
		given.Admin = file.Admin
	}
	return given, nil
}

func randomKey() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// allows reports whether the key presented opens a route of the auth level.
func (k Keys) allows(level, presented string) bool {
	eq := func(want string) bool {
		return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(presented)) == 1
	}
	switch level {
	case "anonymous":
		return true
	case "function":
		return eq(k.Function) || eq(k.Admin)
	case "admin":
		return eq(k.Admin)
	}
	return false
}

// PrivateDir makes dir a folder only its owner can enter (0700): created so
// when missing and tightened when it already exists looser, for the local
// host's data folder, which holds the SQLite stores, keys and secrets.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	return tighten(dir, 0o700)
}

// PrivateFile tightens an existing file that holds secrets to 0600.
func PrivateFile(path string) error {
	return tighten(path, 0o600)
}

func tighten(path string, mode os.FileMode) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&^mode == 0 {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("making %s private: %w", path, err)
	}
	return nil
}
