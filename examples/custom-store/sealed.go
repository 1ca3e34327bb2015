package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"

	"fmt"

	"github.com/agentry/agentry/store"
)

// SealedStore wraps a store.Store and encrypts every event payload with
// AES-256-GCM before it reaches the inner store, so the database holds
// ciphertext for customer messages and replies while the server reads
// the original bytes. Everything else passes through unchanged: the
// wrapper embeds the inner store and overrides only the methods that
// write or return events.
//
// A payload is stored as the JSON object {"sealed":"<base64>"}, so a
// store that checks payloads are JSON objects still accepts it. The
// nonce is random per event and kept in front of the ciphertext.
type SealedStore struct {
	store.Store
	aead cipher.AEAD
}

// Seal returns inner wrapped with a 32-byte AES-256 key.
func Seal(inner store.Store, key []byte) (*SealedStore, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("sealed store: key is %d bytes; AES-256 needs 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealed store: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealed store: %w", err)
	}
	return &SealedStore{Store: inner, aead: aead}, nil
}

// envelope is the stored form of a payload.
type envelope struct {
	Sealed []byte `json:"sealed"`
}

// seal returns the stored form of payload. The session id and the kind
// are authenticated with it, so a payload copied to another session or
// kind fails to open.
func (s *SealedStore) seal(sessionID, kind string, payload json.RawMessage) (json.RawMessage, error) {
	if payload == nil {
		return nil, nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealed store: nonce: %w", err)
	}
	sealed := s.aead.Seal(nonce, nonce, payload, []byte(sessionID+"\x00"+kind))
	return json.Marshal(envelope{Sealed: sealed})
}

// open returns the payload of a stored event.
func (s *SealedStore) open(ev store.Event) (store.Event, error) {
	if ev.Payload == nil {
		return ev, nil
	}
	var env envelope
	if err := json.Unmarshal(ev.Payload, &env); err != nil || len(env.Sealed) < s.aead.NonceSize() {
		return ev, fmt.Errorf("sealed store: event %s/%d is not sealed", ev.SessionID, ev.Offset)
	}
	nonce, ciphertext := env.Sealed[:s.aead.NonceSize()], env.Sealed[s.aead.NonceSize():]
	plain, err := s.aead.Open(nil, nonce, ciphertext, []byte(ev.SessionID+"\x00"+ev.Kind))
	if err != nil {
		return ev, fmt.Errorf("sealed store: event %s/%d: authentication failed; wrong key or altered data", ev.SessionID, ev.Offset)
	}
	ev.Payload = plain
	return ev, nil
}

func (s *SealedStore) sealAll(sessionID string, events []store.NewEvent) ([]store.NewEvent, error) {
	out := make([]store.NewEvent, len(events))
	for i, ev := range events {
		sealed, err := s.seal(sessionID, ev.Kind, ev.Payload)
		if err != nil {
			return nil, err
		}
		out[i] = store.NewEvent{Kind: ev.Kind, TurnID: ev.TurnID, Payload: sealed}
	}
	return out, nil
}

func (s *SealedStore) openAll(events []store.Event) ([]store.Event, error) {
	for i, ev := range events {
		opened, err := s.open(ev)
		if err != nil {
			return nil, err
		}
		events[i] = opened
	}
	return events, nil
}

// CreateSession seals the initial events.
func (s *SealedStore) CreateSession(ctx context.Context, sess store.Session, initial []store.NewEvent) (store.Session, bool, error) {
	sealed, err := s.sealAll(sess.ID, initial)
	if err != nil {
		return store.Session{}, false, err
	}
	return s.Store.CreateSession(ctx, sess, sealed)
}

// Append seals the events and returns them with their original payloads.
func (s *SealedStore) Append(ctx context.Context, sessionID string, events []store.NewEvent, opts store.AppendOptions) ([]store.Event, error) {
	sealed, err := s.sealAll(sessionID, events)
	if err != nil {
		return nil, err
	}
	stored, err := s.Store.Append(ctx, sessionID, sealed, opts)
	if err != nil {
		return nil, err
	}
	return s.openAll(stored)
}

// ListEvents opens the payloads it reads.
func (s *SealedStore) ListEvents(ctx context.Context, sessionID string, from int64, limit int) ([]store.Event, error) {
	stored, err := s.Store.ListEvents(ctx, sessionID, from, limit)
	if err != nil {
		return nil, err
	}
	return s.openAll(stored)
}

// CompleteTurn seals the reply's events.
func (s *SealedStore) CompleteTurn(ctx context.Context, c store.TurnClaim, events []store.NewEvent, processed int64) ([]store.Event, error) {
	sealed, err := s.sealAll(c.SessionID, events)
	if err != nil {
		return nil, err
	}
	stored, err := s.Store.CompleteTurn(ctx, c, sealed, processed)
	if err != nil {
		return nil, err
	}
	return s.openAll(stored)
}
