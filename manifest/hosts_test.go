package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestMatchHost(t *testing.T) {
	allow := []string{"hooks.example.com", "*.bank.example", "127.0.0.1", "::1"}
	cases := []struct {
		host string
		want bool
	}{
		{"hooks.example.com", true},
		{"HOOKS.Example.COM", true},
		{"hooks.example.com.", true},
		{"example.com", false},
		{"evil-hooks.example.com", false},
		{"api.bank.example", true},
		{"a.b.bank.example", true},
		{"bank.example", false},
		{"evilbank.example", false},
		{"127.0.0.1", true},
		{"::ffff:127.0.0.1", true},
		{"[::1]", true},
		{"127.0.0.2", false},
		{"", false},
	}
	for _, c := range cases {
		t.Run(c.host, func(t *testing.T) {
			if got := MatchHost(allow, c.host); got != c.want {
				t.Errorf("MatchHost(%q) = %v, want %v", c.host, got, c.want)
			}
		})
	}
}

func TestMatchHostEdges(t *testing.T) {
	cases := []struct {
		name  string
		allow []string
		host  string
		want  bool
	}{
		{"empty list", nil, "example.com", false},
		{"wildcard never matches an IP", []string{"*.0.0.1"}, "10.0.0.1", false},
		{"bare star", []string{"*"}, "example.com", false},
		{"entry case", []string{"*.Bank.Example"}, "api.bank.example", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := MatchHost(c.allow, c.host); got != c.want {
				t.Errorf("MatchHost(%q, %q) = %v, want %v", c.allow, c.host, got, c.want)
			}
		})
	}
}

func TestCheckCallbackURL(t *testing.T) {
	limited := &Autonomous{CallbackURLAllowlist: []string{"*.bank.example"}}
	open := &Autonomous{}
	cases := []struct {
		name string
		a    *Autonomous
		url  string
		ok   bool
	}{
		{"allowed", limited, "https://hooks.bank.example/cb?token=s3cret", true},
		{"host not allowed", limited, "https://evil.example/cb?token=s3cret", false},
		{"no allowlist", open, "http://anything.example:8080/cb", true},
		{"relative", open, "/cb?token=s3cret", false},
		{"scheme", open, "file:///etc/passwd", false},
		{"user info", open, "https://user:s3cret@bank.example/", false},
		{"no host", open, "https:///cb", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.a.CheckCallbackURL(c.url)
			if c.ok {
				if err != nil {
					t.Fatalf("CheckCallbackURL: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrCallbackURL) {
				t.Fatalf("CheckCallbackURL error %v; want ErrCallbackURL", err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the URL's secret: %v", err)
			}
		})
	}
}
