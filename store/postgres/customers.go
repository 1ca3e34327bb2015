package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/store"
)

const customerColumns = "id, name, variables, metadata, created_at, updated_at"

func scanCustomer(row pgx.Row, extra ...any) (store.Customer, error) {
	var (
		c                   store.Customer
		variables, metadata []byte
		createdAt, updated  time.Time
	)
	dest := []any{&c.ID, &c.Name, &variables, &metadata, &createdAt, &updated}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return store.Customer{}, err
	}
	c.CreatedAt = createdAt.UTC()
	c.UpdatedAt = updated.UTC()
	var err error
	if c.Variables, err = decodeMap("customer variables", variables); err != nil {
		return store.Customer{}, err
	}
	if c.Metadata, err = decodeMap("customer metadata", metadata); err != nil {
		return store.Customer{}, err
	}
	return c, nil
}

// PutCustomer creates the customer or replaces its name, variables and
// metadata in one upsert. CreatedAt is kept from the stored customer, else
// taken from c, else set to now; UpdatedAt is set to now.
func (s *Store) PutCustomer(ctx context.Context, c store.Customer) (store.Customer, bool, error) {
	op := fmt.Sprintf("put customer %q", c.ID)
	if err := s.check(ctx); err != nil {
		return store.Customer{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if err := store.CheckID(c.ID); err != nil {
		return store.Customer{}, false, fmt.Errorf("put customer: %w", err)
	}
	variables, err := encodeMap("customer variables", c.Variables)
	if err != nil {
		return store.Customer{}, false, fmt.Errorf("%s: %w", op, err)
	}
	metadata, err := encodeMap("customer metadata", c.Metadata)
	if err != nil {
		return store.Customer{}, false, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	createdAt := now
	if !c.CreatedAt.IsZero() {
		createdAt = dbTime(c.CreatedAt)
	}
	// xmax is 0 on a freshly inserted row and set on an updated one.
	var created bool
	row := s.pool.QueryRow(ctx, `INSERT INTO customers AS c (id, name, variables, metadata, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, variables = EXCLUDED.variables,
			metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at
		RETURNING `+customerColumns+`, xmax = 0`,
		c.ID, c.Name, variables, metadata, createdAt, now)
	out, err := scanCustomer(row, &created)
	if err != nil {
		return store.Customer{}, false, s.wrap(op, err)
	}
	return out, created, nil
}

// GetCustomer returns the customer, or ErrNotFound.
func (s *Store) GetCustomer(ctx context.Context, id string) (store.Customer, error) {
	op := fmt.Sprintf("get customer %q", id)
	if err := s.check(ctx); err != nil {
		return store.Customer{}, fmt.Errorf("%s: %w", op, err)
	}
	c, err := scanCustomer(s.pool.QueryRow(ctx, "SELECT "+customerColumns+" FROM customers WHERE id = $1", id))
	if err != nil {
		return store.Customer{}, s.wrapLookup(op, err)
	}
	return c, nil
}

// MergeCustomer merges patch into the customer's variables, or its
// metadata when metadata is true, in one UPDATE; a nil value deletes the
// key. It sets UpdatedAt and returns the result, or ErrNotFound.
func (s *Store) MergeCustomer(ctx context.Context, id string, metadata bool, patch map[string]any) (store.Customer, error) {
	op := fmt.Sprintf("merge customer %q", id)
	if err := s.check(ctx); err != nil {
		return store.Customer{}, fmt.Errorf("%s: %w", op, err)
	}
	column := "variables"
	if metadata {
		column = "metadata"
	}
	deletes, sets, err := splitPatch("customer "+column, patch)
	if err != nil {
		return store.Customer{}, fmt.Errorf("%s: %w", op, err)
	}
	row := s.pool.QueryRow(ctx, `UPDATE customers SET `+column+` = `+mergeSQL(column, "$2", "$3")+`,
			updated_at = $4
		WHERE id = $1 RETURNING `+customerColumns,
		id, deletes, sets, s.clock())
	c, err := scanCustomer(row)
	if err != nil {
		return store.Customer{}, s.wrapLookup(op, err)
	}
	return c, nil
}
