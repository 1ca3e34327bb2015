package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agentry/agentry/store"
)

const customerColumns = `id, name, variables, metadata, created_at, updated_at`

func scanCustomer(r rowScanner) (store.Customer, error) {
	var c store.Customer
	err := r.Scan(&c.ID, &c.Name, mapColumn{&c.Variables}, mapColumn{&c.Metadata},
		timeColumn{&c.CreatedAt}, timeColumn{&c.UpdatedAt})
	return c, err
}

func loadCustomer(ctx context.Context, q querier, id string) (store.Customer, error) {
	c, err := scanCustomer(q.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Customer{}, store.ErrNotFound
	}
	return c, err
}

// PutCustomer creates the customer or replaces its name, variables and
// metadata. CreatedAt is kept from the stored customer, else taken from
// c, else set to now; UpdatedAt is set to now.
func (s *Store) PutCustomer(ctx context.Context, c store.Customer) (store.Customer, bool, error) {
	if err := store.CheckID(c.ID); err != nil {
		return store.Customer{}, false, fmt.Errorf("put customer: %w", err)
	}
	now := s.clock()
	created := false
	var out store.Customer
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := loadCustomer(ctx, tx, c.ID)
		switch {
		case err == nil:
			c.CreatedAt = old.CreatedAt
		case errors.Is(err, store.ErrNotFound):
			created = true
			if c.CreatedAt.IsZero() {
				c.CreatedAt = now
			}
		default:
			return err
		}
		c.UpdatedAt = now
		out, err = s.saveCustomer(ctx, tx, c)
		return err
	})
	if err != nil {
		return store.Customer{}, false, fmt.Errorf("put customer %q: %w", c.ID, err)
	}
	return out, created, nil
}

// saveCustomer writes c whole and returns it as a later read returns it.
func (s *Store) saveCustomer(ctx context.Context, tx *sql.Tx, c store.Customer) (store.Customer, error) {
	variables, storedVariables, err := encodeMap(c.Variables)
	if err != nil {
		return store.Customer{}, fmt.Errorf("variables: %w", err)
	}
	metadata, storedMetadata, err := encodeMap(c.Metadata)
	if err != nil {
		return store.Customer{}, fmt.Errorf("metadata: %w", err)
	}
	c.Variables, c.Metadata = storedVariables, storedMetadata
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Microsecond)
	_, err = tx.ExecContext(ctx, `INSERT INTO customers (`+customerColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, variables = excluded.variables,
			metadata = excluded.metadata, updated_at = excluded.updated_at`,
		c.ID, c.Name, variables, metadata, dbTime(c.CreatedAt), dbTime(c.UpdatedAt))
	return c, err
}

// GetCustomer returns the customer, or ErrNotFound.
func (s *Store) GetCustomer(ctx context.Context, id string) (store.Customer, error) {
	var out store.Customer
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = loadCustomer(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.Customer{}, fmt.Errorf("get customer %q: %w", id, err)
	}
	return out, nil
}

// MergeCustomer merges patch into the customer's variables, or its
// metadata when metadata is true; a nil value deletes the key. It sets
// UpdatedAt and returns the result, or ErrNotFound for an unknown id.
func (s *Store) MergeCustomer(ctx context.Context, id string, metadata bool, patch map[string]any) (store.Customer, error) {
	now := s.clock()
	var out store.Customer
	err := s.write(ctx, func(tx *sql.Tx) error {
		c, err := loadCustomer(ctx, tx, id)
		if err != nil {
			return err
		}
		if metadata {
			c.Metadata = store.MergeMap(c.Metadata, patch)
		} else {
			c.Variables = store.MergeMap(c.Variables, patch)
		}
		c.UpdatedAt = now
		out, err = s.saveCustomer(ctx, tx, c)
		return err
	})
	if err != nil {
		return store.Customer{}, fmt.Errorf("merge customer %q: %w", id, err)
	}
	return out, nil
}
