package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/ownkey/ownkey/internal/flock"
)

// keyFileHeader opens every key file so that whoever finds one knows what it
// is worth and what to do instead in production.
const keyFileHeader = `# ownkey master keys. KEEP THIS FILE SECRET AND BACK IT UP.
#
# These keys encrypt every provider credential (BYOK key) in the database.
# Lose this file and the stored credentials cannot be decrypted; leak it
# together with a copy of the database and they can.
#
# ownkey created this file because no OWNKEY_MASTER_KEY was set. In production,
# pass the keys in the OWNKEY_MASTER_KEY environment variable (from a secret
# manager) instead, and keep them out of the data directory and its backups.
#
# Format: v<N>:<32 bytes in standard base64>, separated by commas or newlines.
# The highest version encrypts; older versions only decrypt what they sealed.
# "ownkey rotate-master-key" adds a version and re-wraps stored credentials.
`

// LoadOrCreateKeyFile reads the keyring at path, or, when there is no file,
// generates one and writes it there (creating the directory with mode 0700).
// It refuses a file that group or others can read: a master key that other
// users could have copied is no longer a secret.
func LoadOrCreateKeyFile(path string) (kr *Keyring, created bool, err error) {
	kr, err = loadKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return kr, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("vault: creating key file directory: %w", err)
	}
	kr = GenerateKeyring()
	tmp, err := writeTemp(path, kr)
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp)
	// Link, unlike rename, fails when path exists: if another process
	// created the file meanwhile, its keys win and ours are discarded.
	switch err := os.Link(tmp, path); {
	case errors.Is(err, fs.ErrExist):
		kr, err = loadKeyFile(path)
		return kr, false, err
	case err != nil:
		// Some filesystems have no hard links.
		if err := os.Rename(tmp, path); err != nil {
			return nil, false, fmt.Errorf("vault: writing key file: %w", err)
		}
	}
	syncDir(filepath.Dir(path))
	return kr, true, nil
}

// LoadKeyFile reads the keyring at path; the error wraps fs.ErrNotExist when
// there is no file.
func LoadKeyFile(path string) (*Keyring, error) { return loadKeyFile(path) }

// LockKeyFile takes an exclusive lock that guards changes to the key file at
// path (a flock on path+".lock": the key file itself is replaced by rename,
// so a lock on it would lock the replaced file). It waits while another
// process holds it; the kernel releases it if the holder dies.
func LockKeyFile(ctx context.Context, path string) (unlock func(), err error) {
	return flock.Lock(ctx, path+".lock")
}

func loadKeyFile(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("vault: opening key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vault: key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("vault: key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("vault: key file %s has mode %04o, readable by other users; run: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("vault: reading key file: %w", err)
	}
	kr, err := ParseKeyring(string(data))
	clear(data)
	if err != nil {
		return nil, fmt.Errorf("%w (key file %s)", err, path)
	}
	return kr, nil
}

// WriteKeyFile replaces the file at path with kr, atomically and durably:
// readers see the old keyring or the new one, never a torn file, and once it
// returns the new one survives a crash (file and directory are fsynced). It
// then reads the file back and fails unless it holds exactly kr's keys.
func WriteKeyFile(path string, kr *Keyring) error {
	tmp, err := writeTemp(path, kr)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("vault: writing key file: %w", err)
	}
	if err := syncDirStrict(filepath.Dir(path)); err != nil {
		return fmt.Errorf("vault: writing key file: syncing its directory: %w", err)
	}
	back, err := loadKeyFile(path)
	if err != nil {
		return fmt.Errorf("vault: reading back the key file just written: %w", err)
	}
	if !back.sameKeys(kr) {
		return fmt.Errorf("vault: the key file %s read back does not hold the keys just written to it (%s, want %s)", path, back, kr)
	}
	return nil
}

// writeTemp writes kr to a synced 0600 file next to path and returns its name.
func writeTemp(path string, kr *Keyring) (string, error) {
	if len(kr.Versions()) == 0 {
		return "", errors.New("vault: refusing to write an empty keyring")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("vault: writing key file: %w", err)
	}
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("vault: writing key file: %w", err)
	}
	// CreateTemp already uses 0600; chmod anyway so that the guarantee does
	// not rest on an implementation detail.
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fail(err)
	}
	content := []byte(keyFileHeader + kr.Encode() + "\n")
	_, err = f.Write(content)
	clear(content)
	if err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("vault: writing key file: %w", err)
	}
	return f.Name(), nil
}

// syncDirStrict makes a rename durable, and fails if it cannot, except on
// platforms that cannot fsync a directory at all.
func syncDirStrict(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && runtime.GOOS != "windows" {
		return err
	}
	return nil
}

// syncDir makes a rename durable. Best effort: not every platform can fsync
// a directory, and the file itself is already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
