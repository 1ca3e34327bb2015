package transport

import (
	"net/http"
	"regexp"
)

// idPattern is the alphabet of ids chosen by callers.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const idRule = "must be 1 to 64 letters, digits, '-' or '_'"

// pathID returns the {id} path value, or a 400 naming the rule.
func pathID(r *http.Request, what string) (string, error) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return "", badParam("%s id %q is invalid: it %s", what, clip(id), idRule)
	}
	return id, nil
}

// clip shortens an invalid id for an error message, so a huge id is not
// echoed back whole.
func clip(id string) string {
	const max = 64
	if len(id) <= max {
		return id
	}
	return id[:max] + "..."
}
