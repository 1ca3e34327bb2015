package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAddressClass(t *testing.T) {
	tests := []struct {
		addr string
		want string
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"::1", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"fec0::1", "private"},
		{"64:ff9b:1::a", "private"},
		{"169.254.169.254", "cloud metadata"},
		{"fd00:ec2::254", "cloud metadata"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"100.64.0.1", "shared (carrier-grade NAT)"},
		{"100.127.255.254", "shared (carrier-grade NAT)"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"192.0.0.8", "reserved"},
		{"198.18.0.1", "reserved"},
		{"::127.0.0.1", "reserved"},
		// IPv4-mapped IPv6.
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"::ffff:0.0.0.0", "unspecified"},
		// NAT64 and 6to4 embed an IPv4 address.
		{"64:ff9b::7f00:1", "loopback"},
		{"64:ff9b::a00:1", "private"},
		{"64:ff9b::a9fe:a9fe", "cloud metadata"},
		{"2002:7f00:1::", "loopback"},
		{"2002:c0a8:101::1", "private"},
		// Public addresses (documentation ranges and neighbours).
		{"192.0.2.1", ""},
		{"198.51.100.7", ""},
		{"203.0.113.9", ""},
		{"100.128.0.1", ""},
		{"172.32.0.1", ""},
		{"11.0.0.1", ""},
		{"2001:db8::1", ""},
		{"::ffff:192.0.2.1", ""},
		{"64:ff9b::c000:201", ""},
		{"2002:c000:201::", ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got := addressClass(netip.MustParseAddr(tt.addr))
			if got != tt.want {
				t.Errorf("addressClass(%s) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

// dialRecorder replaces guard.dial: it records each dial and connects
// nowhere, so a test can prove that a blocked address was never dialed.
type dialRecorder struct {
	mu    sync.Mutex
	dials []string
}

func (r *dialRecorder) dial(_ context.Context, _, address string, check bool) (net.Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dials = append(r.dials, fmt.Sprintf("%s check=%t", address, check))
	return nil, errors.New("test dialer connects nowhere")
}

func (r *dialRecorder) recorded() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.dials...)
}

// testLookup resolves the names in hosts and "localhost" (through the
// system resolver), and fails for every other name.
func testLookup(hosts map[string][]string) func(context.Context, string, string) ([]netip.Addr, error) {
	return func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		if host == "localhost" {
			return net.DefaultResolver.LookupNetIP(ctx, network, host)
		}
		texts, ok := hosts[host]
		if !ok {
			return nil, fmt.Errorf("test resolver has no host %q", host)
		}
		var addrs []netip.Addr
		for _, text := range texts {
			addrs = append(addrs, netip.MustParseAddr(text))
		}
		return addrs, nil
	}
}

func newRecordingClient(t *testing.T, cfg Config) (*Client, *dialRecorder) {
	t.Helper()
	client, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	recorder := &dialRecorder{}
	client.guard.dial = recorder.dial
	return client, recorder
}

func get(t *testing.T, client *Client, rawURL string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatalf("NewRequest %s: %v", rawURL, err)
	}
	resp, err := client.Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func TestClientBlocked(t *testing.T) {
	var hits atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer server.Close()
	port := server.Listener.Addr().(*net.TCPAddr).Port

	hosts := map[string][]string{
		"private.test":  {"10.0.0.7"},
		"metadata.test": {"169.254.169.254"},
		"mapped.test":   {"::ffff:127.0.0.1"},
		"mixed.test":    {"192.0.2.1", "10.0.0.1"},
		"nat64.test":    {"64:ff9b::a00:1"},
	}
	tests := []struct {
		name  string
		url   string
		class string
	}{
		{"loopback server", server.URL, "loopback"},
		{"localhost", fmt.Sprintf("http://localhost:%d/", port), "loopback"},
		{"ipv6 loopback", fmt.Sprintf("http://[::1]:%d/", port), "loopback"},
		{"mapped loopback", fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port), "loopback"},
		{"private ip", "http://10.0.0.1/hook", "private"},
		{"mapped private", "http://[::ffff:10.0.0.1]/hook", "private"},
		{"metadata", "http://169.254.169.254/latest/meta-data/", "cloud metadata"},
		{"unspecified", "http://0.0.0.0/", "unspecified"},
		{"cgnat", "http://100.64.0.1/", "shared (carrier-grade NAT)"},
		{"name to private", "http://private.test/hook", "private"},
		{"name to metadata", "http://metadata.test/", "cloud metadata"},
		{"name to mapped", "http://mapped.test/", "loopback"},
		{"mixed answer", "https://mixed.test/", "private"},
		{"name to nat64", "http://nat64.test/", "private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, recorder := newRecordingClient(t, Config{LookupNetIP: testLookup(hosts)})
			_, err := get(t, client, tt.url)
			if !errors.Is(err, ErrBlockedAddress) {
				t.Fatalf("error = %v, want ErrBlockedAddress", err)
			}
			if !strings.Contains(err.Error(), tt.class) {
				t.Errorf("error %q does not name the class %q", err, tt.class)
			}
			if dials := recorder.recorded(); len(dials) != 0 {
				t.Errorf("dialed %v, want no dial", dials)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}
}

func TestClientDialsCheckedAddress(t *testing.T) {
	hosts := map[string][]string{"public.test": {"192.0.2.10", "2001:db8::10"}}
	client, recorder := newRecordingClient(t, Config{LookupNetIP: testLookup(hosts)})

	_, err := get(t, client, "http://public.test/hook")
	if err == nil {
		t.Fatal("request succeeded through a dialer that connects nowhere")
	}
	if errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("public address blocked: %v", err)
	}
	want := []string{"192.0.2.10:80 check=true", "[2001:db8::10]:80 check=true"}
	if got := recorder.recorded(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("dials = %v, want %v", got, want)
	}
}

func TestGuardControl(t *testing.T) {
	client, err := NewClient(Config{AllowHosts: []string{"10.9.0.0/16"}})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	tests := []struct {
		address string
		blocked bool
	}{
		{"10.0.0.1:80", true},
		{"127.0.0.1:8080", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"169.254.169.254:80", true},
		{"[fe80::1%eth0]:80", true},
		{"localhost:80", true}, // a name never reaches Control unresolved
		{"10.9.1.1:80", false},
		{"192.0.2.1:443", false},
		{"[2001:db8::1]:443", false},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			err := client.guard.control("tcp", tt.address, nil)
			if got := errors.Is(err, ErrBlockedAddress); got != tt.blocked {
				t.Errorf("control(%s) = %v, want blocked %t", tt.address, err, tt.blocked)
			}
		})
	}
}

func TestClientAllowed(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer server.Close()
	port := server.Listener.Addr().(*net.TCPAddr).Port
	hosts := map[string][]string{"svc.internal.test": {"127.0.0.1"}}

	tests := []struct {
		name string
		cfg  Config
		url  string
	}{
		{"private networks", Config{AllowPrivateNetworks: true}, server.URL},
		{"ip entry", Config{AllowHosts: []string{"127.0.0.1"}}, server.URL},
		{"mapped ip entry", Config{AllowHosts: []string{"::ffff:127.0.0.1"}}, server.URL},
		{"cidr entry", Config{AllowHosts: []string{"127.0.0.0/8"}}, server.URL},
		{"name entry", Config{AllowHosts: []string{"LocalHost."}}, fmt.Sprintf("http://localhost:%d/", port)},
		{"wildcard entry", Config{AllowHosts: []string{"*.internal.test"}}, fmt.Sprintf("http://svc.internal.test:%d/", port)},
		{"cidr for name", Config{AllowHosts: []string{"127.0.0.0/24"}}, fmt.Sprintf("http://svc.internal.test:%d/", port)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.LookupNetIP = testLookup(hosts)
			client, err := NewClient(tt.cfg)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			resp, err := get(t, client, tt.url)
			if err != nil {
				t.Fatalf("GET %s: %v", tt.url, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if string(body) != "ok" {
				t.Errorf("body = %q, want %q", body, "ok")
			}
		})
	}
}

func TestClientAllowHostsMismatch(t *testing.T) {
	hosts := map[string][]string{"svc.internal.test": {"127.0.0.1"}}
	tests := []struct {
		name  string
		allow []string
		url   string
	}{
		{"other cidr", []string{"10.0.0.0/8"}, "http://127.0.0.1/"},
		{"other ip", []string{"127.0.0.2"}, "http://127.0.0.1/"},
		{"other name", []string{"svc.other.test"}, "http://svc.internal.test/"},
		{"wildcard excludes apex", []string{"*.svc.internal.test"}, "http://svc.internal.test/"},
		{"wildcard other domain", []string{"*.internal.test"}, "http://localhost/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, recorder := newRecordingClient(t, Config{
				AllowHosts:  tt.allow,
				LookupNetIP: testLookup(hosts),
			})
			if _, err := get(t, client, tt.url); !errors.Is(err, ErrBlockedAddress) {
				t.Errorf("error = %v, want ErrBlockedAddress", err)
			}
			if dials := recorder.recorded(); len(dials) != 0 {
				t.Errorf("dialed %v, want no dial", dials)
			}
		})
	}
}

func TestNewClientInvalidAllowHosts(t *testing.T) {
	tests := []string{"", "  ", "10.0.0.0/33", "not a host", "*.", "*", "ex*mple.com", "a..b", "http://x.test"}
	for _, entry := range tests {
		t.Run(entry, func(t *testing.T) {
			_, err := NewClient(Config{AllowHosts: []string{"ok.test", entry}})
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), "AllowHosts[1]") {
				t.Errorf("error %q does not name the entry index", err)
			}
		})
	}
}

func TestNewTrustedReachesLoopback(t *testing.T) {
	var hits atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer server.Close()

	client := NewTrusted(Config{})
	resp, err := get(t, client, server.URL)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server received %d requests, want 1", n)
	}
}

func TestGuardSplitsConnectTimeout(t *testing.T) {
	hosts := map[string][]string{"two.test": {"192.0.2.1", "192.0.2.2"}}
	client, err := NewClient(Config{Timeout: 6 * time.Second, LookupNetIP: testLookup(hosts)})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	var mu sync.Mutex
	var shares []time.Duration
	client.guard.dial = func(ctx context.Context, _, _ string, _ bool) (net.Conn, error) {
		deadline, ok := ctx.Deadline()
		if !ok {
			t.Error("dial context has no deadline")
		}
		mu.Lock()
		shares = append(shares, time.Until(deadline))
		mu.Unlock()
		return nil, errors.New("test dialer connects nowhere")
	}

	if _, err := get(t, client, "http://two.test/"); err == nil {
		t.Fatal("request succeeded through a dialer that connects nowhere")
	}
	if len(shares) != 2 {
		t.Fatalf("dialed %d addresses, want 2", len(shares))
	}
	if shares[0] < 2*time.Second || shares[0] > 3*time.Second {
		t.Errorf("first address got %s, want about half of 6s", shares[0])
	}
	if shares[1] < 5*time.Second || shares[1] > 6*time.Second {
		t.Errorf("second address got %s, want the rest of 6s", shares[1])
	}
}

func TestNewClientAllowHostsForms(t *testing.T) {
	client, err := NewClient(Config{AllowHosts: []string{
		"hooks.internal", " Sidecar.Local. ", "*.svc.cluster.local", "my_host",
		"10.1.2.3", "[::1]", "fd00::/8", "::ffff:192.168.0.0/112",
	}})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	tests := []struct {
		addr    string
		allowed bool
	}{
		{"10.1.2.3", true},
		{"10.1.2.4", false},
		{"::1", true},
		{"fd00::5", true},
		{"192.168.7.7", true},
		{"192.169.0.1", true}, // public anyway
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		class := client.guard.blockedClass(netip.MustParseAddr(tt.addr))
		if got := class == ""; got != tt.allowed {
			t.Errorf("%s: blocked class %q, want allowed %t", tt.addr, class, tt.allowed)
		}
	}
	for _, name := range []string{"hooks.internal", "HOOKS.internal.", "sidecar.local", "a.b.svc.cluster.local", "my_host"} {
		if !client.guard.allow.allowsName(name) {
			t.Errorf("name %q not allowed", name)
		}
	}
	for _, name := range []string{"svc.cluster.local", "hooks.internal.evil.test", "xhooks.internal"} {
		if client.guard.allow.allowsName(name) {
			t.Errorf("name %q allowed", name)
		}
	}
}
