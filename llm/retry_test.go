package llm

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 2 ", 2 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"99999999999", 24 * time.Hour, true},
	}
	for _, tc := range cases {
		got, ok := parseRetryAfter(tc.value, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.value, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	base, limit := 500*time.Millisecond, 30*time.Second
	for attempt := 0; attempt < 10; attempt++ {
		full := min(base<<attempt, limit)
		for range 50 {
			d := backoff(attempt, base, limit)
			if d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
}

func TestRetryDelay(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rt := &retryTransport{backoffBase: time.Second, backoffMax: 30 * time.Second, now: func() time.Time { return now }}
	cases := []struct {
		name       string
		retryAfter string
		deadline   time.Duration // 0: none
		want       time.Duration // -1: any backoff
		ok         bool
	}{
		{"retry-after honoured", "3", 0, 3 * time.Second, true},
		{"retry-after at the cap", "60", 0, 60 * time.Second, true},
		{"retry-after over the cap", "61", 0, 0, false},
		{"retry-after past the deadline", "10", 5 * time.Second, 0, false},
		{"backoff without header", "", 0, -1, true},
		{"backoff past the deadline", "", 100 * time.Millisecond, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			if tc.deadline > 0 {
				var cancel func()
				ctx, cancel = context.WithDeadline(ctx, now.Add(tc.deadline))
				defer cancel()
			}
			h := http.Header{}
			if tc.retryAfter != "" {
				h.Set("Retry-After", tc.retryAfter)
			}
			got, ok := rt.delay(ctx, h, 0)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (wait %v)", ok, tc.ok, got)
			}
			if tc.want >= 0 && got != tc.want {
				t.Errorf("wait = %v, want %v", got, tc.want)
			}
			if tc.want < 0 && (got < 500*time.Millisecond || got > time.Second) {
				t.Errorf("wait = %v, want a backoff within [500ms, 1s]", got)
			}
		})
	}
}
