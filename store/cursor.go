package store

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidCursor: a list cursor was not produced by [EncodeCursor]. The
// HTTP layer reports it as an invalid parameter.
var ErrInvalidCursor = errors.New("store: invalid cursor")

// Page sizes of [Sessions.ListSessions].
const (
	// DefaultListLimit is the page size used when the filter's Limit is 0.
	DefaultListLimit = 50
	// MaxListLimit is the largest page size; larger limits are lowered to it.
	MaxListLimit = 1000
)

// cursorPrefix versions the cursor format so it can change later without
// misreading cursors that clients still hold.
const cursorPrefix = "p1:"

// EncodeCursor returns an opaque cursor for a list position: the creation
// sequence number of the last item of a page. The next page starts after it.
func EncodeCursor(position int64) string {
	return base64.RawURLEncoding.EncodeToString(
		[]byte(cursorPrefix + strconv.FormatInt(position, 10)))
}

// DecodeCursor returns the position stored by [EncodeCursor]. It returns
// ErrInvalidCursor for any other string; the empty cursor is the caller's
// "first page" and is not valid input here.
func DecodeCursor(cursor string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, fmt.Errorf("decode cursor %q: %w", cursor, ErrInvalidCursor)
	}
	digits, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, fmt.Errorf("decode cursor %q: %w", cursor, ErrInvalidCursor)
	}
	position, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || position < 0 {
		return 0, fmt.Errorf("decode cursor %q: %w", cursor, ErrInvalidCursor)
	}
	return position, nil
}

// ClampListLimit returns the page size for a requested limit:
// [DefaultListLimit] for 0, otherwise the limit clamped to 1..[MaxListLimit].
func ClampListLimit(limit int) int {
	switch {
	case limit == 0:
		return DefaultListLimit
	case limit < 1:
		return 1
	case limit > MaxListLimit:
		return MaxListLimit
	default:
		return limit
	}
}
