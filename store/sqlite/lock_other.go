//go:build !unix

package sqlite

import (
	"fmt"
	"os"
	"runtime"
)

// lockFile fails: the store takes its lock with flock(2), which only
// Unix systems have.
func lockFile(path string) (*os.File, error) {
	return nil, fmt.Errorf("lock %q: the sqlite store needs flock(2), which %s does not have", path, runtime.GOOS)
}
