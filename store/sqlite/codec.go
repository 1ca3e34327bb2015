package sqlite

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentry/agentry/store"
)

// dbTime returns t as unix microseconds, or nil (SQL NULL) for the zero
// time.
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// timeColumn scans unix microseconds into a UTC time and NULL into the
// zero time.
type timeColumn struct{ t *time.Time }

func (c timeColumn) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("scan time: got %T, want an integer of unix microseconds", src)
	}
	return nil
}

// blobColumn scans a BLOB byte-exact: NULL becomes nil and an empty BLOB
// an empty, non-nil slice. Scanning into *[]byte would turn the empty
// BLOB into nil.
type blobColumn struct{ b *json.RawMessage }

func (c blobColumn) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.b = nil
	case []byte:
		*c.b = append(json.RawMessage{}, v...)
	case string:
		*c.b = json.RawMessage(v)
	default:
		return fmt.Errorf("scan blob: got %T, want bytes", src)
	}
	return nil
}

// dbBlob returns b for a BLOB column: nil stays NULL, and an empty slice
// stays an empty BLOB.
func dbBlob(b json.RawMessage) any {
	if b == nil {
		return nil
	}
	return []byte(b)
}

// mapColumn scans JSON text into a map, decoding numbers as json.Number
// so large integers keep every digit. NULL becomes a nil map.
type mapColumn struct{ m *map[string]any }

func (c mapColumn) Scan(src any) error {
	var text []byte
	switch v := src.(type) {
	case nil:
		*c.m = nil
		return nil
	case string:
		text = []byte(v)
	case []byte:
		text = v
	default:
		return fmt.Errorf("scan map: got %T, want JSON text", src)
	}
	m, err := decodeMap(text)
	if err != nil {
		return err
	}
	*c.m = m
	return nil
}

func decodeMap(text []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode stored JSON object: %w", err)
	}
	if m == nil {
		// A stored "null" is read back as an empty map, as is "{}".
		m = map[string]any{}
	}
	return m, nil
}

// encodeMap returns m as JSON text for a column (nil for a nil map) and
// the map as reading the column back returns it, so a write returns what
// a later read does.
func encodeMap(m map[string]any) (column any, stored map[string]any, err error) {
	if m == nil {
		return nil, nil, nil
	}
	text, err := json.Marshal(m)
	if err != nil {
		return nil, nil, fmt.Errorf("encode map as JSON: %w", err)
	}
	stored, err = decodeMap(text)
	if err != nil {
		return nil, nil, err
	}
	return string(text), stored, nil
}

// leaseColumns returns the scan destinations of a lease's owner, token
// and expiry columns.
func leaseColumns(l *store.Lease) []any {
	return []any{&l.Owner, &l.Token, timeColumn{&l.Expires}}
}

// ownsLease reports whether claim names the stored lease. The token is
// compared in constant time because it is the claim's proof of ownership.
func ownsLease(stored, claim store.Lease) bool {
	if stored.Owner == "" || stored.Owner != claim.Owner {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(stored.Token), []byte(claim.Token)) == 1
}
