package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

func (h *harness) customerChecks() []check {
	return []check{
		{"PutGet", h.testCustomerPutGet},
		{"Merge", h.testCustomerMerge},
		{"MapsCopied", h.testCustomerMapsCopied},
	}
}

func (h *harness) testCustomerPutGet(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)

	first, created, err := s.PutCustomer(ctx, store.Customer{ID: "c-1", Name: "Ada"})
	if err != nil {
		t.Fatalf("PutCustomer: %v", err)
	}
	if !created {
		t.Errorf("first PutCustomer: created = false, want true")
	}
	if !first.CreatedAt.Equal(clock.Now()) {
		t.Errorf("CreatedAt = %v, want the clock's %v", first.CreatedAt, clock.Now())
	}
	clock.Advance(time.Minute)
	second, created, err := s.PutCustomer(ctx, store.Customer{
		ID: "c-1", Name: "Ada L.", Variables: map[string]any{"tier": "gold"},
	})
	if err != nil {
		t.Fatalf("second PutCustomer: %v", err)
	}
	if created {
		t.Errorf("second PutCustomer: created = true, want false")
	}
	if !second.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("CreatedAt = %v after replace, want %v kept", second.CreatedAt, first.CreatedAt)
	}
	if !second.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("UpdatedAt = %v, want %v", second.UpdatedAt, clock.Now())
	}

	got, err := s.GetCustomer(ctx, "c-1")
	if err != nil {
		t.Fatalf("GetCustomer: %v", err)
	}
	if got.Name != "Ada L." {
		t.Errorf("Name = %q, want %q", got.Name, "Ada L.")
	}
	if want := map[string]any{"tier": "gold"}; !sameMap(got.Variables, want) {
		t.Errorf("Variables = %v, want %v", got.Variables, want)
	}
	if !got.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("stored CreatedAt = %v, want %v", got.CreatedAt, first.CreatedAt)
	}

	if _, err := s.GetCustomer(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCustomer(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.MergeCustomer(ctx, "nobody", false, map[string]any{"a": 1}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MergeCustomer(unknown) error = %v, want ErrNotFound", err)
	}
	if _, _, err := s.PutCustomer(ctx, store.Customer{}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("PutCustomer(empty id) error = %v, want ErrInvalidArgument", err)
	}
}

func (h *harness) testCustomerMerge(t *testing.T) {
	tests := []struct {
		name     string
		metadata bool
		patch    map[string]any
		wantVars map[string]any
		wantMeta map[string]any
	}{
		{
			name:     "variables set and delete",
			patch:    map[string]any{"plan": "pro", "lang": nil, "seats": 3},
			wantVars: map[string]any{"plan": "pro", "seats": 3},
			wantMeta: map[string]any{"crm": "x1"},
		},
		{
			name:     "metadata delete only",
			metadata: true,
			patch:    map[string]any{"crm": nil},
			wantVars: map[string]any{"lang": "en"},
			wantMeta: map[string]any{},
		},
		{
			name:     "delete missing key",
			patch:    map[string]any{"absent": nil},
			wantVars: map[string]any{"lang": "en"},
			wantMeta: map[string]any{"crm": "x1"},
		},
		{
			name:     "nested value replaced whole",
			metadata: true,
			patch:    map[string]any{"crm": map[string]any{"id": "x2"}},
			wantVars: map[string]any{"lang": "en"},
			wantMeta: map[string]any{"crm": map[string]any{"id": "x2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, clock := h.open(t)
			_, _, err := s.PutCustomer(ctx, store.Customer{
				ID:        "c-1",
				Variables: map[string]any{"lang": "en"},
				Metadata:  map[string]any{"crm": "x1"},
			})
			if err != nil {
				t.Fatalf("PutCustomer: %v", err)
			}
			clock.Advance(time.Second)
			merged, err := s.MergeCustomer(ctx, "c-1", tt.metadata, tt.patch)
			if err != nil {
				t.Fatalf("MergeCustomer: %v", err)
			}
			if !sameMap(merged.Variables, tt.wantVars) {
				t.Errorf("returned Variables = %v, want %v", merged.Variables, tt.wantVars)
			}
			if !sameMap(merged.Metadata, tt.wantMeta) {
				t.Errorf("returned Metadata = %v, want %v", merged.Metadata, tt.wantMeta)
			}
			if !merged.UpdatedAt.Equal(clock.Now()) {
				t.Errorf("UpdatedAt = %v, want %v", merged.UpdatedAt, clock.Now())
			}
			got, err := s.GetCustomer(ctx, "c-1")
			if err != nil {
				t.Fatalf("GetCustomer: %v", err)
			}
			if !sameMap(got.Variables, tt.wantVars) {
				t.Errorf("stored Variables = %v, want %v", got.Variables, tt.wantVars)
			}
			if !sameMap(got.Metadata, tt.wantMeta) {
				t.Errorf("stored Metadata = %v, want %v", got.Metadata, tt.wantMeta)
			}
		})
	}
}

func (h *harness) testCustomerMapsCopied(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	nested := map[string]any{"city": "Oslo"}
	in := store.Customer{ID: "c-1", Variables: map[string]any{"address": nested}}
	if _, _, err := s.PutCustomer(ctx, in); err != nil {
		t.Fatalf("PutCustomer: %v", err)
	}
	in.Variables["extra"] = 1
	nested["city"] = "Bergen"

	want := map[string]any{"address": map[string]any{"city": "Oslo"}}
	got, err := s.GetCustomer(ctx, "c-1")
	if err != nil {
		t.Fatalf("GetCustomer: %v", err)
	}
	if !sameMap(got.Variables, want) {
		t.Errorf("Variables = %v after the caller changed its map, want %v", got.Variables, want)
	}

	if address, ok := got.Variables["address"].(map[string]any); ok {
		address["city"] = "Tromsø"
	}
	got.Variables["new"] = true
	again, err := s.GetCustomer(ctx, "c-1")
	if err != nil {
		t.Fatalf("GetCustomer: %v", err)
	}
	if !sameMap(again.Variables, want) {
		t.Errorf("Variables = %v after a write to a returned map, want %v", again.Variables, want)
	}
}
