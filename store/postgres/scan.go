package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/store"
)

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// nullTime returns nil for the zero time, which is stored as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return dbTime(t)
}

// fromNullTime returns a scanned timestamptz in UTC, or the zero time for
// NULL.
func fromNullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// encodeMap returns m as JSON for a jsonb column, or nil (NULL) for a nil
// map.
func encodeMap(what string, m map[string]any) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s as JSON: %w", what, err)
	}
	return b, nil
}

// decodeMap decodes a jsonb column, keeping numbers as json.Number so
// large integers and decimals are not rounded. NULL returns nil.
func decodeMap(what string, b []byte) (map[string]any, error) {
	if b == nil {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode stored %s: %w", what, err)
	}
	return m, nil
}

// splitPatch returns the keys a merge patch deletes (nil values) and the
// JSON object of the keys it sets, or nil when it sets none.
func splitPatch(what string, patch map[string]any) ([]string, []byte, error) {
	deletes := []string{}
	sets := make(map[string]any, len(patch))
	for k, v := range patch {
		if v == nil {
			deletes = append(deletes, k)
		} else {
			sets[k] = v
		}
	}
	if len(sets) == 0 {
		return deletes, nil, nil
	}
	b, err := encodeMap(what, sets)
	return deletes, b, err
}

// mergeSQL merges a patch into a jsonb column as [store.MergeMap] does: a
// NULL column stays NULL unless the patch sets a key. $del is the text[]
// of deleted keys and $set the jsonb of set keys or NULL.
func mergeSQL(column, del, set string) string {
	return fmt.Sprintf("CASE WHEN %[1]s IS NULL AND %[3]s::jsonb IS NULL THEN NULL "+
		"ELSE (coalesce(%[1]s, '{}'::jsonb) - %[2]s::text[]) || coalesce(%[3]s::jsonb, '{}'::jsonb) END",
		column, del, set)
}

// leaseFrom builds a lease from its columns.
func leaseFrom(owner, token string, expires *time.Time) store.Lease {
	return store.Lease{Owner: owner, Token: token, Expires: fromNullTime(expires)}
}
