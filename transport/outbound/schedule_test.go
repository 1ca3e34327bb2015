package outbound

import (
	"errors"
	"math"
	"net/http"
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	s := DefaultSchedule()
	s.Jitter = 0
	tests := []struct {
		attempt int
		want    time.Duration
		ok      bool
	}{
		{-1, 0, true},
		{0, 0, true},
		{1, 5 * time.Second, true},
		{2, 5 * time.Minute, true},
		{3, 30 * time.Minute, true},
		{4, 2 * time.Hour, true},
		{5, 5 * time.Hour, true},
		{6, 10 * time.Hour, true},
		{7, 10 * time.Hour, true},
		{8, 0, false},
		{100, 0, false},
	}
	for _, tt := range tests {
		got, ok := s.Next(tt.attempt, 0)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Next(%d, 0) = %s, %t, want %s, %t", tt.attempt, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDefaultScheduleTotal(t *testing.T) {
	s := DefaultSchedule()
	if got := s.MaxAttempts(); got != 8 {
		t.Errorf("MaxAttempts = %d, want 8", got)
	}
	var total time.Duration
	for _, d := range s.Delays {
		total += d
	}
	if total < 27*time.Hour || total > 29*time.Hour {
		t.Errorf("total delay = %s, want about 28h", total)
	}
	if s.Jitter != 0.2 {
		t.Errorf("Jitter = %v, want 0.2", s.Jitter)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestScheduleJitterBounds(t *testing.T) {
	s := Schedule{Delays: []time.Duration{time.Minute}, Jitter: 0.2}
	varied := false
	for range 2000 {
		got, ok := s.Next(1, 0)
		if !ok {
			t.Fatal("Next(1, 0) returned false")
		}
		if got < time.Minute || got > 72*time.Second {
			t.Fatalf("Next(1, 0) = %s, want 1m to 1m12s", got)
		}
		if got != time.Minute {
			varied = true
		}
	}
	if !varied {
		t.Error("2000 delays without any jitter")
	}
}

func TestScheduleRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		delays     []time.Duration
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{"larger wins", []time.Duration{5 * time.Second, time.Hour}, 1, 90 * time.Second, 90 * time.Second},
		{"smaller ignored", []time.Duration{5 * time.Minute}, 1, 30 * time.Second, 5 * time.Minute},
		{"longer than the schedule", []time.Duration{5 * time.Second, 10 * time.Hour}, 1, 20 * time.Hour, 20 * time.Hour},
		{"capped at 24h", []time.Duration{5 * time.Second, 48 * time.Hour}, 1, 100 * time.Hour, 24 * time.Hour},
		{"cap keeps longer schedule", []time.Duration{5 * time.Second, 48 * time.Hour}, 2, 100 * time.Hour, 48 * time.Hour},
		{"max duration", []time.Duration{time.Second, time.Hour}, 1, time.Duration(math.MaxInt64), 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Schedule{Delays: tt.delays}
			got, ok := s.Next(tt.attempt, tt.retryAfter)
			if !ok || got != tt.want {
				t.Errorf("Next(%d, %s) = %s, %t, want %s, true", tt.attempt, tt.retryAfter, got, ok, tt.want)
			}
		})
	}
}

func TestScheduleRetryAfterJitter(t *testing.T) {
	s := Schedule{Delays: []time.Duration{time.Second, time.Hour}, Jitter: 0.2}
	for range 500 {
		got, _ := s.Next(1, time.Minute)
		if got < time.Minute || got > 72*time.Second {
			t.Fatalf("Next(1, 1m) = %s, want 1m to 1m12s", got)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
	}{
		{"negative delay", Schedule{Delays: []time.Duration{time.Second, -time.Second}}},
		{"negative jitter", Schedule{Jitter: -0.1}},
		{"jitter over one", Schedule{Jitter: 1.5}},
		{"nan jitter", Schedule{Jitter: math.NaN()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Validate = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	later := now.Add(90 * time.Second)
	tests := []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{"seconds", "120", 2 * time.Minute, true},
		{"zero", "0", 0, true},
		{"spaces", "  7 ", 7 * time.Second, true},
		{"leading zeros", "007", 7 * time.Second, true},
		{"huge", "99999999999999999999999", time.Duration(math.MaxInt64), true},
		{"imf date", later.Format(http.TimeFormat), 90 * time.Second, true},
		{"rfc 850 date", later.Format(time.RFC850), 90 * time.Second, true},
		{"ansi c date", later.Format(time.ANSIC), 90 * time.Second, true},
		{"past date", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"empty", "", 0, false},
		{"negative", "-5", 0, false},
		{"plus sign", "+5", 0, false},
		{"fraction", "1.5", 0, false},
		{"unit", "5s", 0, false},
		{"word", "soon", 0, false},
		{"iso date", "2025-03-01T12:01:30Z", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.value, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q) = %s, %t, want %s, %t", tt.value, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, seed := range []string{"120", "0", "", "-1", "1.5", "99999999999999999999",
		"Sat, 01 Mar 2025 12:01:30 GMT", "Saturday, 01-Mar-25 12:01:30 GMT",
		"Sat Mar  1 12:01:30 2025", "\x00", "٣"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		got, ok := ParseRetryAfter(value, now)
		if !ok && got != 0 {
			t.Errorf("ParseRetryAfter(%q) = %s, false; want 0 with false", value, got)
		}
		if got < 0 {
			t.Errorf("ParseRetryAfter(%q) = %s, want no negative wait", value, got)
		}
	})
}
