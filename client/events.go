package client

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"time"

	"github.com/agentry/agentry/transport/wire"
)

// Retry delays of Events after a failed request.
const (
	minRetryDelay = 200 * time.Millisecond
	maxRetryDelay = 5 * time.Second
)

// Events yields the session's events in offset order, starting at offset
// from, for as long as the caller keeps iterating and ctx lasts. It
// long-polls with o and, after a dropped connection or a 5xx or 429
// response, retries from the offset after the last event it yielded, so no
// event is lost or repeated. Other errors (a 404 for a deleted session, a
// 401) are yielded once and end the sequence.
//
//	for ev, err := range c.Events(ctx, id, 0, client.PollOptions{}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(ev.Kind, ev.Text)
//	}
func (c *Client) Events(ctx context.Context, sessionID string, from int64, o PollOptions) iter.Seq2[wire.Event, error] {
	return func(yield func(wire.Event, error) bool) {
		delay := minRetryDelay
		for ctx.Err() == nil {
			page, err := c.Poll(ctx, sessionID, from, o)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !retryable(err) {
					yield(wire.Event{}, err)
					return
				}
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					return
				}
				delay = min(delay*2, maxRetryDelay)
				continue
			}
			delay = minRetryDelay
			for _, ev := range page.Events {
				if !yield(ev, nil) {
					return
				}
			}
			from = page.NextOffset
		}
	}
}

// retryable reports whether a failed poll is worth repeating: a transport
// error, a 5xx or a 429.
func retryable(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return true
	}
	return ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests
}
