package memory

import (
	"context"
	"fmt"

	"github.com/agentry/agentry/store"
)

// PutCustomer creates the customer or replaces its name, variables and
// metadata. CreatedAt is kept from the stored customer, else taken from c,
// else set to now; UpdatedAt is set to now. The maps are deep-copied.
func (s *Store) PutCustomer(ctx context.Context, c store.Customer) (store.Customer, bool, error) {
	if err := s.check(ctx); err != nil {
		return store.Customer{}, false, fmt.Errorf("put customer %q: %w", c.ID, err)
	}
	if err := store.CheckID(c.ID); err != nil {
		return store.Customer{}, false, fmt.Errorf("put customer: %w", err)
	}
	now := s.clock()

	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.customers[c.ID]
	stored := cloneCustomer(c)
	switch {
	case exists:
		stored.CreatedAt = old.CreatedAt
	case stored.CreatedAt.IsZero():
		stored.CreatedAt = now
	}
	stored.UpdatedAt = now
	s.customers[c.ID] = &stored
	return cloneCustomer(stored), !exists, nil
}

// GetCustomer returns a copy of the customer, or ErrNotFound.
func (s *Store) GetCustomer(ctx context.Context, id string) (store.Customer, error) {
	if err := s.check(ctx); err != nil {
		return store.Customer{}, fmt.Errorf("get customer %q: %w", id, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.customers[id]
	if !ok {
		return store.Customer{}, fmt.Errorf("get customer %q: %w", id, store.ErrNotFound)
	}
	return cloneCustomer(*c), nil
}

// MergeCustomer merges patch into the customer's variables, or its metadata
// when metadata is true; a nil value deletes the key. It sets UpdatedAt and
// returns a copy of the result, or ErrNotFound for an unknown id.
func (s *Store) MergeCustomer(ctx context.Context, id string, metadata bool, patch map[string]any) (store.Customer, error) {
	if err := s.check(ctx); err != nil {
		return store.Customer{}, fmt.Errorf("merge customer %q: %w", id, err)
	}
	now := s.clock()

	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	if !ok {
		return store.Customer{}, fmt.Errorf("merge customer %q: %w", id, store.ErrNotFound)
	}
	if metadata {
		c.Metadata = store.MergeMap(c.Metadata, patch)
	} else {
		c.Variables = store.MergeMap(c.Variables, patch)
	}
	c.UpdatedAt = now
	return cloneCustomer(*c), nil
}

func cloneCustomer(c store.Customer) store.Customer {
	c.Variables = store.CloneMap(c.Variables)
	c.Metadata = store.CloneMap(c.Metadata)
	return c
}
