package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/agentry/agentry/transport/webhook"
)

// maxCallbackBytes bounds the body the receiver reads.
const maxCallbackBytes = 1 << 20

// callback is a callback the receiver got for one run.
type callback struct {
	// Body is the request body, byte for byte as signed.
	Body []byte
	// VerifyErr is nil when the Standard Webhooks signature verified.
	VerifyErr error
}

// receiver is the HTTP endpoint that callbacks are POSTed to. It checks
// the Standard Webhooks signature of each callback and keeps the first
// verified one per webhook-id, which is the run's id. A retry of a
// callback that was already accepted gets 204 and is otherwise ignored.
// A callback whose signature does not verify gets 401.
type receiver struct {
	keys [][]byte
	url  string
	srv  *http.Server

	mu    sync.Mutex
	slots map[string]*slot
	// unkeyed counts callbacks rejected without a webhook-id header,
	// which no run can be matched to.
	unkeyed int
}

// slot collects the callbacks of one run. done is closed once verified is
// set, and rejected once the first rejected callback is stored in
// firstRejected.
type slot struct {
	done, rejected          chan struct{}
	verified, firstRejected callback
}

// startReceiver listens on a free loopback port and serves callbacks
// under /kyc/callback, verified with keys.
func startReceiver(keys [][]byte) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for callbacks: %w", err)
	}
	r := &receiver{keys: keys, url: "http://" + ln.Addr().String() + "/kyc/callback", slots: map[string]*slot{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /kyc/callback", r.handle)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// Close stops the receiver.
func (r *receiver) Close() error { return r.srv.Close() }

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxCallbackBytes))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	// Verify the raw body before decoding it, because the signature
	// covers the exact bytes sent.
	id := req.Header.Get(webhook.HeaderID)
	verifyErr := webhook.Verify(r.keys, id, req.Header.Get(webhook.HeaderTimestamp),
		req.Header.Get(webhook.HeaderSignature), body, time.Now(), webhook.DefaultTolerance)

	r.mu.Lock()
	switch {
	case id == "":
		r.unkeyed++
	case verifyErr != nil:
		s := r.slot(id)
		if !closed(s.rejected) {
			s.firstRejected = callback{Body: body, VerifyErr: verifyErr}
			close(s.rejected)
		}
	default:
		s := r.slot(id)
		if !closed(s.done) {
			s.verified = callback{Body: body}
			close(s.done)
		}
	}
	r.mu.Unlock()

	if verifyErr != nil {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// slot returns the slot of runID, creating it. r.mu must be held.
func (r *receiver) slot(runID string) *slot {
	s, ok := r.slots[runID]
	if !ok {
		s = &slot{done: make(chan struct{}), rejected: make(chan struct{})}
		r.slots[runID] = s
	}
	return s
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// wait returns the first verified callback of runID or, if one whose
// signature does not verify comes first, that one. It waits until ctx
// ends.
func (r *receiver) wait(ctx context.Context, runID string) (callback, error) {
	r.mu.Lock()
	s := r.slot(runID)
	r.mu.Unlock()
	select {
	case <-s.done:
	case <-s.rejected:
	case <-ctx.Done():
		r.mu.Lock()
		unkeyed := r.unkeyed
		r.mu.Unlock()
		err := fmt.Errorf("no callback for run %s: %w", runID, ctx.Err())
		if unkeyed > 0 {
			err = errors.Join(err, fmt.Errorf("the receiver rejected %d callbacks without a %s header", unkeyed, webhook.HeaderID))
		}
		return callback{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if closed(s.done) {
		return s.verified, nil
	}
	return s.firstRejected, nil
}
