package memory

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

func TestCustomerPutGet(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))

	first, created, err := s.PutCustomer(ctx, store.Customer{ID: "c-1", Name: "Ada"})
	if err != nil {
		t.Fatalf("PutCustomer: %v", err)
	}
	if !created {
		t.Errorf("first PutCustomer: created = false, want true")
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
	if got.Variables["tier"] != "gold" {
		t.Errorf("Variables = %v, want tier=gold", got.Variables)
	}

	if _, err := s.GetCustomer(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCustomer(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.MergeCustomer(ctx, "nobody", false, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MergeCustomer(unknown) error = %v, want ErrNotFound", err)
	}
	if _, _, err := s.PutCustomer(ctx, store.Customer{}); err == nil {
		t.Errorf("PutCustomer(empty id) error = nil, want an error")
	}
}

func TestCustomerMerge(t *testing.T) {
	tests := []struct {
		name     string
		metadata bool
		patch    map[string]any
		wantVars map[string]any
		wantMeta map[string]any
	}{
		{
			name:     "variables set and delete",
			patch:    map[string]any{"plan": "pro", "lang": nil},
			wantVars: map[string]any{"plan": "pro"},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := New()
			_, _, err := s.PutCustomer(ctx, store.Customer{
				ID:        "c-1",
				Variables: map[string]any{"lang": "en"},
				Metadata:  map[string]any{"crm": "x1"},
			})
			if err != nil {
				t.Fatalf("PutCustomer: %v", err)
			}
			merged, err := s.MergeCustomer(ctx, "c-1", tt.metadata, tt.patch)
			if err != nil {
				t.Fatalf("MergeCustomer: %v", err)
			}
			if !reflect.DeepEqual(merged.Variables, tt.wantVars) {
				t.Errorf("returned Variables = %v, want %v", merged.Variables, tt.wantVars)
			}
			if !reflect.DeepEqual(merged.Metadata, tt.wantMeta) {
				t.Errorf("returned Metadata = %v, want %v", merged.Metadata, tt.wantMeta)
			}
			got, err := s.GetCustomer(ctx, "c-1")
			if err != nil {
				t.Fatalf("GetCustomer: %v", err)
			}
			if !reflect.DeepEqual(got.Variables, tt.wantVars) {
				t.Errorf("stored Variables = %v, want %v", got.Variables, tt.wantVars)
			}
			if !reflect.DeepEqual(got.Metadata, tt.wantMeta) {
				t.Errorf("stored Metadata = %v, want %v", got.Metadata, tt.wantMeta)
			}
		})
	}
}

func TestCustomerMapsCopied(t *testing.T) {
	ctx := context.Background()
	s := New()
	nested := map[string]any{"city": "Oslo"}
	in := store.Customer{ID: "c-1", Variables: map[string]any{"address": nested}}
	if _, _, err := s.PutCustomer(ctx, in); err != nil {
		t.Fatalf("PutCustomer: %v", err)
	}
	in.Variables["extra"] = 1
	nested["city"] = "Bergen"

	got, err := s.GetCustomer(ctx, "c-1")
	if err != nil {
		t.Fatalf("GetCustomer: %v", err)
	}
	if _, ok := got.Variables["extra"]; ok {
		t.Errorf("caller's map write after Put reached the store: %v", got.Variables)
	}
	if city := got.Variables["address"].(map[string]any)["city"]; city != "Oslo" {
		t.Errorf("nested city = %v after caller's write, want Oslo", city)
	}

	got.Variables["address"].(map[string]any)["city"] = "Tromsø"
	got.Variables["new"] = true
	again, err := s.GetCustomer(ctx, "c-1")
	if err != nil {
		t.Fatalf("GetCustomer: %v", err)
	}
	if _, ok := again.Variables["new"]; ok {
		t.Errorf("write to a returned map reached the store: %v", again.Variables)
	}
	if city := again.Variables["address"].(map[string]any)["city"]; city != "Oslo" {
		t.Errorf("nested city = %v after write to a returned map, want Oslo", city)
	}
}
