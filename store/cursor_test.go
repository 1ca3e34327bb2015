package store

import (
	"errors"
	"testing"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, position := range []int64{0, 1, 250, 1 << 62} {
		got, err := DecodeCursor(EncodeCursor(position))
		if err != nil {
			t.Errorf("DecodeCursor(EncodeCursor(%d)): %v", position, err)
			continue
		}
		if got != position {
			t.Errorf("DecodeCursor(EncodeCursor(%d)) = %d", position, got)
		}
	}
}

func TestCursorInvalid(t *testing.T) {
	tests := []struct {
		name   string
		cursor string
	}{
		{"not base64", "!!!"},
		{"no prefix", "MTI"},
		{"negative", EncodeCursor(-5)},
		{"not a number", "cDE6YWJj"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeCursor(tt.cursor); !errors.Is(err, ErrInvalidCursor) {
				t.Errorf("DecodeCursor(%q) error = %v, want ErrInvalidCursor", tt.cursor, err)
			}
		})
	}
}

func TestClampListLimit(t *testing.T) {
	tests := []struct {
		limit, want int
	}{
		{0, DefaultListLimit},
		{-3, 1},
		{1, 1},
		{MaxListLimit, MaxListLimit},
		{MaxListLimit + 1, MaxListLimit},
	}
	for _, tt := range tests {
		if got := ClampListLimit(tt.limit); got != tt.want {
			t.Errorf("ClampListLimit(%d) = %d, want %d", tt.limit, got, tt.want)
		}
	}
}
