package outbound

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps the Retry-After wait that Schedule.Next honours when
// the schedule's own largest delay is longer.
const MaxRetryAfter = 24 * time.Hour

// Schedule is when a delivery is attempted: the first attempt at once,
// then one attempt after each delay.
type Schedule struct {
	// Delays are the waits before the second, third and later attempts,
	// so a delivery gets len(Delays)+1 attempts.
	Delays []time.Duration
	// Jitter is the largest fraction of a delay added at random, from 0
	// to 1. With 0.2 a 5m delay becomes anything from 5m to 6m, which
	// spreads out the retries of many deliveries that failed together.
	Jitter float64
}

// DefaultSchedule returns the schedule of callbacks and event webhooks:
// at once, then after 5s, 5m, 30m, 2h, 5h, 10h and 10h (8 attempts over
// about 28 hours), each delay with up to 20% jitter.
func DefaultSchedule() Schedule {
	return Schedule{
		Delays: []time.Duration{
			5 * time.Second,
			5 * time.Minute,
			30 * time.Minute,
			2 * time.Hour,
			5 * time.Hour,
			10 * time.Hour,
			10 * time.Hour,
		},
		Jitter: 0.2,
	}
}

// MaxAttempts returns how many attempts the schedule allows.
func (s Schedule) MaxAttempts() int {
	return len(s.Delays) + 1
}

// Validate reports a negative delay or a jitter outside 0 to 1. The error
// wraps ErrInvalidConfig.
func (s Schedule) Validate() error {
	for i, d := range s.Delays {
		if d < 0 {
			return fmt.Errorf("%w: retry delay %d is %s; use a delay of 0 or more",
				ErrInvalidConfig, i, d)
		}
	}
	if math.IsNaN(s.Jitter) || s.Jitter < 0 || s.Jitter > 1 {
		return fmt.Errorf("%w: retry jitter is %v; use a fraction from 0 to 1",
			ErrInvalidConfig, s.Jitter)
	}
	return nil
}

// Next returns the wait before the next attempt when attempt attempts
// have failed, and false when no attempt is left. With no failed attempt
// the wait is 0. A retryAfter that the receiver asked for (see
// ParseRetryAfter) replaces a shorter scheduled delay, up to
// MaxRetryAfter, so a receiver that asks for more time gets it even when
// the schedule's own delays are short. Jitter is added last, so the wait
// is never shorter than the receiver asked for within the cap.
func (s Schedule) Next(attempt int, retryAfter time.Duration) (time.Duration, bool) {
	if attempt <= 0 {
		return 0, true
	}
	if attempt > len(s.Delays) {
		return 0, false
	}
	delay := max(s.Delays[attempt-1], 0)
	if retryAfter > delay {
		delay = max(delay, min(retryAfter, MaxRetryAfter))
	}
	jitter := min(max(s.Jitter, 0), 1) // NaN becomes 0
	if jitter > 0 && delay > 0 {
		delay += time.Duration(rand.Float64() * jitter * float64(delay))
	}
	return delay, true
}

// ParseRetryAfter parses a Retry-After header value, either delay seconds
// ("120") or an HTTP date, and returns the wait from now. A date in the
// past gives 0. A number of seconds too large for time.Duration gives the
// largest Duration. It returns false for an empty or invalid value.
func ParseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if isDigits(h) {
		seconds, err := strconv.ParseInt(h, 10, 64)
		if err != nil || seconds > math.MaxInt64/int64(time.Second) {
			return time.Duration(math.MaxInt64), true // only digits: out of range
		}
		return time.Duration(seconds) * time.Second, true
	}
	date, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(date.Sub(now), 0), true
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
