//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile opens or creates the lock file at path and takes an exclusive
// flock(2) lock on it without waiting. The lock belongs to the open file,
// so a second lockFile of the same path fails in this process too, and
// the kernel releases it when the process dies.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		return f, nil
	}
	_ = f.Close()
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, fmt.Errorf("the database is in use by another process or store (lock file %q is held): "+
			"stop the other process or close the other store first", path)
	}
	return nil, fmt.Errorf("lock %q: %w", path, err)
}
