//go:build unix

package flock

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes the lock if it is free. flock locks belong to the open file
// description, so two Lock calls in one process exclude each other too.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
