package outbound

import (
	"context"
	"errors"
	"testing"
)

func TestCheckURL(t *testing.T) {
	lookup := testLookup(map[string][]string{
		"public.test":   {"93.184.216.34"},
		"internal.test": {"10.1.2.3"},
	})
	tests := []struct {
		name    string
		cfg     Config
		url     string
		blocked bool
	}{
		{"public name", Config{}, "https://public.test/hook", false},
		{"private name", Config{}, "https://internal.test/hook", true},
		{"loopback literal", Config{}, "http://127.0.0.1:9/x", true},
		{"metadata address", Config{}, "http://169.254.169.254/latest", true},
		{"mapped loopback", Config{}, "http://[::ffff:127.0.0.1]/x", true},
		{"allowed by name", Config{AllowHosts: []string{"internal.test"}}, "https://internal.test/hook", false},
		{"allowed by range", Config{AllowHosts: []string{"10.0.0.0/8"}}, "https://internal.test/hook", false},
		{"private networks allowed", Config{AllowPrivateNetworks: true}, "http://127.0.0.1/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.LookupNetIP = lookup
			c, err := NewClient(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckURL(context.Background(), tt.url)
			if got := errors.Is(err, ErrBlockedAddress); got != tt.blocked {
				t.Fatalf("CheckURL(%q) = %v, want blocked=%v", tt.url, err, tt.blocked)
			}
		})
	}
}

func TestCheckURLInvalid(t *testing.T) {
	c, err := NewClient(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckURL(context.Background(), "not a url"); err == nil {
		t.Error("CheckURL accepted a URL without a host")
	}
}
