package outbound

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClientNoRedirect(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusFound)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
	})
	server := httptest.NewServer(mux)
	defer server.Close()

	for name, client := range map[string]*Client{
		"guarded": mustClient(t, Config{AllowPrivateNetworks: true}),
		"trusted": NewTrusted(Config{}),
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := get(t, client, server.URL+"/start")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			if resp.StatusCode != http.StatusFound {
				t.Errorf("status = %d, want 302", resp.StatusCode)
			}
			if loc := resp.Header.Get("Location"); loc != "/target" {
				t.Errorf("Location = %q, want /target", loc)
			}
		})
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("redirect target received %d requests, want 0", n)
	}
}

func TestClientBodyLimit(t *testing.T) {
	const size = 100 << 10
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", size)))
	}))
	defer server.Close()

	tests := []struct {
		name  string
		limit int64
		want  int
	}{
		{"default", 0, int(DefaultMaxResponseBytes)},
		{"small", 1024, 1024},
		{"exact", size, size},
		{"unlimited", -1, size},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := mustClient(t, Config{AllowPrivateNetworks: true, MaxResponseBytes: tt.limit})
			resp, err := get(t, client, server.URL)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if len(body) != tt.want {
				t.Errorf("read %d bytes, want %d", len(body), tt.want)
			}
			if err := resp.Body.Close(); err != nil {
				t.Errorf("close body: %v", err)
			}
		})
	}
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer server.Close()
	defer close(release)

	client := mustClient(t, Config{AllowPrivateNetworks: true, Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := get(t, client, server.URL)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("request to a hanging server succeeded")
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("error = %v, want a timeout", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("request returned after %s, want about 200ms", elapsed)
	}
	if out := Classify(nil, err); out.Kind != Retry || out.Error != "request timed out" {
		t.Errorf("Classify = %+v, want Retry with %q", out, "request timed out")
	}
}

func TestClientTimeoutCoversBody(t *testing.T) {
	release := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("start"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer server.Close()
	defer close(release)

	client := mustClient(t, Config{AllowPrivateNetworks: true, Timeout: 200 * time.Millisecond})
	resp, err := get(t, client, server.URL)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("reading a body that never ends returned no error")
	}
}

func TestClientErrorHidesURL(t *testing.T) {
	const secretPath = "/hooks/s3cret-path?token=s3cret-query"
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	closedURL := "http://" + listener.Addr().String()
	listener.Close()

	t.Run("blocked", func(t *testing.T) {
		client, recorder := newRecordingClient(t, Config{})
		_, err := get(t, client, "http://10.0.0.1"+secretPath)
		assertNoSecret(t, err)
		if dials := recorder.recorded(); len(dials) != 0 {
			t.Errorf("dialed %v, want no dial", dials)
		}
	})
	t.Run("refused", func(t *testing.T) {
		client := mustClient(t, Config{AllowPrivateNetworks: true})
		_, err := get(t, client, closedURL+secretPath)
		assertNoSecret(t, err)
	})
}

func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("request succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q contains the URL path or query", err)
	}
	if out := Classify(nil, err); strings.Contains(out.Error, "s3cret") {
		t.Errorf("Outcome.Error %q contains the URL path or query", out.Error)
	}
}

func TestClientIgnoresProxyEnv(t *testing.T) {
	for name, client := range map[string]*Client{
		"guarded": mustClient(t, Config{}),
		"trusted": NewTrusted(Config{}),
	} {
		transport, ok := client.HTTPClient().Transport.(*http.Transport)
		if !ok {
			t.Fatalf("%s: transport is %T, want *http.Transport", name, client.HTTPClient().Transport)
		}
		if transport.Proxy != nil {
			t.Errorf("%s: transport has a Proxy function, want none", name)
		}
	}
}

func TestClientDefaultTimeout(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		want    time.Duration
	}{
		{"default", 0, DefaultTimeout},
		{"set", 3 * time.Second, 3 * time.Second},
		{"streaming", -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := NewTrusted(Config{Timeout: tt.timeout})
			if got := client.HTTPClient().Timeout; got != tt.want {
				t.Errorf("http.Client.Timeout = %s, want %s", got, tt.want)
			}
		})
	}
}

func mustClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	client, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return client
}
