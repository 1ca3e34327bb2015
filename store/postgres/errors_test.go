package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agentry/agentry/store"
)

func TestWrapMapsErrors(t *testing.T) {
	s := &Store{}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, store.ErrUnavailable},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, store.ErrUnavailable},
		{"connection failure", &pgconn.PgError{Code: "08006"}, store.ErrUnavailable},
		{"too many connections", &pgconn.PgError{Code: "53300"}, store.ErrUnavailable},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), store.ErrUnavailable},
		{"conn closed", pgconn.ErrConnClosed, store.ErrUnavailable},
		{"unique violation", &pgconn.PgError{Code: "23505"}, store.ErrConflict},
		{"caller cancelled", context.Canceled, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.wrap("get session \"s\"", tt.err)
			if !errors.Is(got, tt.want) {
				t.Fatalf("wrap(%v) = %v, want it to wrap %v", tt.err, got, tt.want)
			}
		})
	}

	syntax := s.wrap("list sessions", &pgconn.PgError{Code: "42601"})
	if errors.Is(syntax, store.ErrUnavailable) || errors.Is(syntax, store.ErrConflict) {
		t.Fatalf("wrap(syntax error) = %v, want no store sentinel", syntax)
	}
	if errors.Is(s.wrap("x", context.Canceled), store.ErrUnavailable) {
		t.Fatal("a cancelled caller context is reported as ErrUnavailable")
	}
}

func TestWrapAfterCloseIsErrClosed(t *testing.T) {
	s := &Store{}
	s.closed.Store(true)
	if err := s.wrap("ping", errors.New("closed pool")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("wrap after Close = %v, want ErrClosed", err)
	}
}
