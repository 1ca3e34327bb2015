package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	return rec.Result()
}

func TestHandlerServesFiles(t *testing.T) {
	h := http.StripPrefix("/ui", Handler())
	cases := []struct {
		path, contentType, contains string
	}{
		{"/ui/", "text/html; charset=utf-8", `<ol id="transcript"`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "EventSource"},
		{"/ui/style.css", "text/css; charset=utf-8", "#transcript"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp := get(t, h, tc.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tc.contentType)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy = %q, want %q", got, ContentSecurityPolicy)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
		})
	}
}

func TestHandlerMissingFile(t *testing.T) {
	resp := get(t, http.StripPrefix("/ui", Handler()), "/ui/missing.js")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, want 404", resp.StatusCode)
	}
}

func TestContentSecurityPolicyDirectives(t *testing.T) {
	for _, directive := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, directive) {
			t.Errorf("policy %q lacks %q", ContentSecurityPolicy, directive)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe-inline") || strings.Contains(ContentSecurityPolicy, "unsafe-eval") {
		t.Errorf("policy %q allows inline or evaluated code", ContentSecurityPolicy)
	}
}

// The page must load nothing from other hosts and must work under a mount
// prefix, so no file may hold an absolute URL or a root-relative path in
// an attribute.
func TestFilesUseRelativeURLs(t *testing.T) {
	absolute := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	rootRelative := regexp.MustCompile(`(?i)(src|href|action)="/`)
	err := fs.WalkDir(Files(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(Files(), path)
		if err != nil {
			return err
		}
		text := string(data)
		if path == "favicon.svg" {
			// The SVG namespace is an identifier, never fetched.
			text = strings.ReplaceAll(text, "http://www.w3.org/2000/svg", "")
		}
		if m := absolute.FindString(text); m != "" {
			t.Errorf("%s contains the absolute URL %q", path, m)
		}
		if m := rootRelative.FindString(text); m != "" {
			t.Errorf("%s contains the root-relative reference %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRedirectToPage(t *testing.T) {
	rec := httptest.NewRecorder()
	RedirectToPage(rec, httptest.NewRequest("GET", "/ui", nil))
	if rec.Code != http.StatusMovedPermanently {
		t.Errorf("status = %d, want 301", rec.Code)
	}
	if got := rec.Header().Get("Location"); got != "ui/" {
		t.Errorf("Location = %q, want the relative ui/", got)
	}
}
