package transport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport/wire"
)

// failingPingStore is a memory store whose Ping fails once down is set,
// with a message naming a database host, as a PostgreSQL store's does.
type failingPingStore struct {
	*memory.Store
	down atomic.Bool
}

func (s *failingPingStore) Ping(ctx context.Context) error {
	if s.down.Load() {
		return fmt.Errorf("ping postgres store: %w: dial tcp 10.20.30.40:5432: connection refused", store.ErrUnavailable)
	}
	return s.Store.Ping(ctx)
}

func TestHealthReadyHidesStoreDetails(t *testing.T) {
	m, err := manifest.Parse([]byte(demoManifest), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	st := &failingPingStore{Store: memory.New()}
	srv, err := agentry.New(m, agentry.Options{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	st.down.Store(true)

	get := func(token string) (int, wire.Health) {
		t.Helper()
		req, err := http.NewRequest("GET", hs.URL+"/health/ready", nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var h wire.Health
		if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, h
	}

	status, public := get("")
	if status != http.StatusServiceUnavailable {
		t.Errorf("status without credentials = %d, want 503", status)
	}
	if got := public.Checks["store"]; got != "down: database unavailable" {
		t.Errorf("store check without credentials = %q, want the short reason only", got)
	}
	_, wrongKey := get("not-the-key")
	if strings.Contains(wrongKey.Checks["store"], "10.20.30.40") {
		t.Errorf("store check with a wrong key shows the address: %q", wrongKey.Checks["store"])
	}
	_, detailed := get(testKey)
	if !strings.Contains(detailed.Checks["store"], "10.20.30.40:5432") {
		t.Errorf("store check with the api key = %q, want the full reason", detailed.Checks["store"])
	}
}
