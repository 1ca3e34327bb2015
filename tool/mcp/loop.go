package mcp

import (
	"context"
	"math/rand/v2"
	"time"
)

// run keeps the server connected until the manager closes. It connects,
// retries with backoff while the server is down and reconnects after a
// drop. It checks a live connection by listing its tools every
// CheckInterval and when the server sends a tool list change.
func (s *Server) run() {
	defer s.m.loops.Done()
	var tick <-chan time.Time
	if s.opts.CheckInterval > 0 {
		ticker := time.NewTicker(s.opts.CheckInterval)
		defer ticker.Stop()
		tick = ticker.C
	}
	delay := s.opts.RetryMin
	first := true
	for {
		if s.current() == nil {
			ctx, cancel := context.WithTimeout(s.m.ctx, s.opts.ConnectTimeout)
			_, err := s.connection(ctx)
			cancel()
			if first {
				close(s.started)
				first = false
			}
			if s.m.ctx.Err() != nil {
				return
			}
			if err != nil {
				wait := jitter(delay)
				s.log.Warn("mcp server unavailable; retrying", "error", err, "retry_in", wait)
				delay = min(2*delay, s.opts.RetryMax)
				if !sleep(s.m.ctx, wait) {
					return
				}
				continue
			}
			delay = s.opts.RetryMin
		}
		select {
		case <-s.m.ctx.Done():
			return
		case <-s.wake:
		case <-s.refresh:
			s.check()
		case <-tick:
			s.check()
		}
	}
}

// check lists the tools of the live connection to refresh them and to
// find a connection that is gone. A gone connection is dropped; another
// failure only marks the server degraded.
func (s *Server) check() {
	c := s.current()
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.m.ctx, s.opts.ConnectTimeout)
	defer cancel()
	listing, err := s.listTools(ctx, c)
	if err != nil {
		if s.m.ctx.Err() != nil {
			return
		}
		if c.broken(ctx, err) {
			s.drop(c, err)
			return
		}
		err = s.redact.wrap(err)
		s.log.Warn("mcp health check failed", "error", err)
		s.setStatus(degraded(err))
		return
	}
	s.mu.Lock()
	if s.conn == c {
		s.setToolsLocked(listing.tools)
		s.status = StatusOK
	}
	s.mu.Unlock()
}

// jitter returns d changed by up to 20% either way, so that servers that
// went down together are not retried in lockstep.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// sleep waits for d and reports true, or reports false when ctx ends
// first.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
