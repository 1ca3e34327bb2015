package ids

import (
	"regexp"
	"testing"
)

func TestNewFormatAndUniqueness(t *testing.T) {
	pattern := regexp.MustCompile(`^run_[a-z2-7]{16}$`)
	seen := make(map[string]bool)
	for range 1000 {
		id := New("run_")
		if !pattern.MatchString(id) {
			t.Fatalf("id %q does not match %s", id, pattern)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
	}
}
