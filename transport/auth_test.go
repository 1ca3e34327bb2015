package transport

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport/wire"
)

const authTestKey = "auth-test-key-0123456789"

// fakeClock is a settable clock for login token expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newAuthServer returns a handler with the api key apiKey over a memory
// store. Its engine is not started, which the auth routes do not need.
func newAuthServer(t *testing.T, apiKey string) *Server {
	t.Helper()
	yaml := `
id: auth-test
name: Auth test
agent_config:
  runtime:
    api_key: ` + apiKey + `
  llms:
    default: scripted/demo
`
	m, err := manifest.Parse([]byte(yaml), manifest.WithDir(t.TempDir()), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	lanes, err := llm.New(m.AgentConfig.LLMs, llm.Options{Logger: logger})
	if err != nil {
		t.Fatalf("llm.New: %v", err)
	}
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	engine, err := agent.New(agent.Config{Manifest: m, Store: st, Chat: lanes.Chat, Logger: logger})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	s, err := New(Config{Manifest: m, Store: st, Engine: engine, Logger: logger})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// serve sends a request to h and returns the recorded response.
func serve(h http.Handler, method, target, contentType, body string, header map[string]string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// loginCookieOf returns the agent_auth cookie that rec sets, or nil.
func loginCookieOf(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	return nil
}

// loginForm logs in with an HTML form body and returns the cookie.
func loginForm(t *testing.T, h http.Handler, target, key string) *http.Cookie {
	t.Helper()
	rec := serve(h, "POST", target, "application/x-www-form-urlencoded", url.Values{"api_key": {key}}.Encode(), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("login: status %d, body %s", rec.Code, rec.Body)
	}
	c := loginCookieOf(rec)
	if c == nil {
		t.Fatalf("login set no %s cookie; Set-Cookie: %q", CookieName, rec.Header().Values("Set-Cookie"))
	}
	return c
}

// getWithCookie sends GET target with the login cookie value and the
// extra headers.
func getWithCookie(h http.Handler, target, value string, header map[string]string) *httptest.ResponseRecorder {
	all := map[string]string{"Cookie": CookieName + "=" + value}
	for k, v := range header {
		all[k] = v
	}
	return serve(h, "GET", target, "", "", all)
}

func errorCodeOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body wire.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", rec.Body, err)
	}
	return body.Error.Code
}

func TestLoginWrongKey(t *testing.T) {
	s := newAuthServer(t, authTestKey)
	cases := []struct {
		name, contentType, body string
	}{
		{"form", "application/x-www-form-urlencoded", "api_key=wrong-key"},
		{"json", "application/json", `{"api_key":"wrong-key"}`},
		{"form key prefix", "application/x-www-form-urlencoded", "api_key=" + authTestKey[:10]},
		{"json key with suffix", "application/json", `{"api_key":"` + authTestKey + `x"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(s, "POST", "/auth/login", tc.contentType, tc.body, nil)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401; body %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
				t.Errorf("Set-Cookie = %q, want none", got)
			}
			if code := errorCodeOf(t, rec); code != wire.CodeUnauthorized {
				t.Errorf("error code = %q, want %q", code, wire.CodeUnauthorized)
			}
		})
	}
}

func TestLoginBadRequests(t *testing.T) {
	s := newAuthServer(t, authTestKey)
	cases := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"form without key", "application/x-www-form-urlencoded", "other=1", 422, wire.CodeValidationFailed},
		{"json without key", "application/json", `{}`, 422, wire.CodeValidationFailed},
		{"json unknown field", "application/json", `{"api_key":"` + authTestKey + `","user":"a"}`, 422, wire.CodeValidationFailed},
		{"json malformed", "application/json", `{"api_key":`, 400, wire.CodeInvalidJSON},
		{"plain text", "text/plain", authTestKey, 415, wire.CodeUnsupportedMediaType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(s, "POST", "/auth/login", tc.contentType, tc.body, nil)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if code := errorCodeOf(t, rec); code != tc.code {
				t.Errorf("error code = %q, want %q", code, tc.code)
			}
			if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
				t.Errorf("Set-Cookie = %q, want none", got)
			}
		})
	}
}

func TestLoginFormAndJSON(t *testing.T) {
	s := newAuthServer(t, authTestKey)
	cases := []struct {
		name, contentType, body string
	}{
		{"form", "application/x-www-form-urlencoded", url.Values{"api_key": {authTestKey}}.Encode()},
		{"form with charset", "application/x-www-form-urlencoded; charset=UTF-8", url.Values{"api_key": {authTestKey}}.Encode()},
		{"json", "application/json", `{"api_key":"` + authTestKey + `"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(s, "POST", "/auth/login", tc.contentType, tc.body, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
			}
			var res loginResult
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if d := time.Until(res.ExpiresAt); d < DefaultLoginTTL-time.Minute || d > DefaultLoginTTL {
				t.Errorf("expires_at is %v from now, want about %v", d, DefaultLoginTTL)
			}
			c := loginCookieOf(rec)
			if c == nil {
				t.Fatalf("no %s cookie; Set-Cookie: %q", CookieName, rec.Header().Values("Set-Cookie"))
			}
			got := getWithCookie(s, "/sessions", c.Value, nil)
			if got.Code != http.StatusOK {
				t.Errorf("GET /sessions with the cookie: status %d, want 200; body %s", got.Code, got.Body)
			}
		})
	}
}

func TestLoginCookieFlags(t *testing.T) {
	s := newAuthServer(t, authTestKey)
	rec := serve(s, "POST", "/auth/login", "application/x-www-form-urlencoded", "api_key="+authTestKey, nil)
	c := loginCookieOf(rec)
	if c == nil {
		t.Fatalf("no cookie: status %d, body %s", rec.Code, rec.Body)
	}
	if !c.HttpOnly {
		t.Error("cookie is not HttpOnly")
	}
	if c.SameSite != http.SameSiteStrictMode {
		t.Errorf("SameSite = %v, want Strict", c.SameSite)
	}
	if c.Path != "/" {
		t.Errorf("Path = %q, want /", c.Path)
	}
	if c.Secure {
		t.Error("cookie is Secure on a plain HTTP request")
	}
	if c.MaxAge < int(DefaultLoginTTL.Seconds())-60 || c.MaxAge > int(DefaultLoginTTL.Seconds()) {
		t.Errorf("Max-Age = %d, want about %d", c.MaxAge, int(DefaultLoginTTL.Seconds()))
	}
	if strings.Contains(c.Value, authTestKey) {
		t.Errorf("cookie value %q contains the api key", c.Value)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}

	tls := serve(s, "POST", "https://agent.test/auth/login", "application/x-www-form-urlencoded", "api_key="+authTestKey, nil)
	if c := loginCookieOf(tls); c == nil || !c.Secure {
		t.Errorf("cookie over TLS = %+v, want Secure", c)
	}
}

func TestLoginCookieUnderPrefix(t *testing.T) {
	s := newAuthServer(t, authTestKey)
	mounted := http.StripPrefix("/agents/one", s)
	c := loginForm(t, mounted, "/agents/one/auth/login", authTestKey)
	if c.Path != "/agents/one" {
		t.Errorf("Path = %q, want /agents/one", c.Path)
	}
	if rec := getWithCookie(mounted, "/agents/one/sessions", c.Value, nil); rec.Code != http.StatusOK {
		t.Errorf("GET under the prefix: status %d, want 200; body %s", rec.Code, rec.Body)
	}
	rec := serve(mounted, "POST", "/agents/one/auth/logout", "", "", nil)
	if out := loginCookieOf(rec); out == nil || out.Path != "/agents/one" {
		t.Errorf("logout cookie = %+v, want one with Path /agents/one", out)
	}
}

func TestCookieRejected(t *testing.T) {
	s := newAuthServer(t, authTestKey)
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.logins.now = clock.now
	valid, expiry := s.logins.issue()
	parts := strings.Split(valid, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d dot-separated parts, want 3", valid, len(parts))
	}

	other := newAuthServer(t, "another-key-0123456789")
	other.logins.now = clock.now
	foreign, _ := other.logins.issue()

	flipped := []byte(parts[2])
	flipped[0] ^= 1
	if flipped[0] == '.' {
		flipped[0] = 'A'
	}
	later := strconv.FormatInt(expiry.Add(time.Hour).Unix(), 10)
	cases := []struct{ name, value string }{
		{"tampered signature", parts[0] + "." + parts[1] + "." + string(flipped)},
		{"extended expiry", parts[0] + "." + later + "." + parts[2]},
		{"signature of another api key", foreign},
		{"empty", ""},
		{"garbage", "not-a-token"},
		{"api key itself", authTestKey},
		{"version only", "v1"},
		{"no signature", parts[0] + "." + parts[1] + "."},
		{"other version", "v2." + parts[1] + "." + parts[2]},
		{"signed expiry with plus sign", parts[0] + ".+" + parts[1] + "." + parts[2]},
		{"extra part", valid + ".x"},
		{"padding in signature", valid + "="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := getWithCookie(s, "/sessions", tc.value, nil)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401; body %s", rec.Code, rec.Body)
			}
			if code := errorCodeOf(t, rec); code != wire.CodeUnauthorized {
				t.Errorf("error code = %q, want %q", code, wire.CodeUnauthorized)
			}
		})
	}

	t.Run("valid before expiry", func(t *testing.T) {
		clock.advance(DefaultLoginTTL - time.Second)
		if rec := getWithCookie(s, "/sessions", valid, nil); rec.Code != http.StatusOK {
			t.Errorf("status one second before expiry = %d, want 200; body %s", rec.Code, rec.Body)
		}
	})
	t.Run("expired", func(t *testing.T) {
		clock.advance(time.Second)
		if rec := getWithCookie(s, "/sessions", valid, nil); rec.Code != http.StatusUnauthorized {
			t.Errorf("status at expiry = %d, want 401; body %s", rec.Code, rec.Body)
		}
	})
}

func TestCookieAuthorizationHeaderWins(t *testing.T) {
	s := newAuthServer(t, authTestKey)
	c := loginForm(t, s, "/auth/login", authTestKey)
	rec := getWithCookie(s, "/sessions", c.Value, map[string]string{"Authorization": "Bearer wrong-key"})
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("valid cookie with a wrong bearer token: status %d, want 401", rec.Code)
	}
}

func TestCookieCrossSite(t *testing.T) {
	s := newAuthServer(t, authTestKey)
	c := loginForm(t, s, "/auth/login", authTestKey)
	// httptest.NewRequest sets Host to example.com.
	cases := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no fetch metadata", nil, 200},
		{"same origin", map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, 200},
		{"same site", map[string]string{"Sec-Fetch-Site": "same-site"}, 200},
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"other origin", map[string]string{"Origin": "https://attacker.test"}, 403},
		{"other port", map[string]string{"Origin": "http://example.com:8080"}, 403},
		{"opaque origin", map[string]string{"Origin": "null"}, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := getWithCookie(s, "/sessions", c.Value, tc.header)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 403 {
				if code := errorCodeOf(t, rec); code != wire.CodeForbidden {
					t.Errorf("error code = %q, want %q", code, wire.CodeForbidden)
				}
			}
		})
	}

	t.Run("bearer not affected", func(t *testing.T) {
		rec := serve(s, "GET", "/sessions", "", "", map[string]string{
			"Authorization":  "Bearer " + authTestKey,
			"Origin":         "https://attacker.test",
			"Sec-Fetch-Site": "cross-site",
		})
		if rec.Code != http.StatusOK {
			t.Errorf("status = %d, want 200; body %s", rec.Code, rec.Body)
		}
	})
	t.Run("cross-site login", func(t *testing.T) {
		rec := serve(s, "POST", "/auth/login", "application/x-www-form-urlencoded", "api_key="+authTestKey,
			map[string]string{"Origin": "https://attacker.test"})
		if rec.Code != http.StatusForbidden {
			t.Errorf("status = %d, want 403", rec.Code)
		}
		if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
			t.Errorf("Set-Cookie = %q, want none", got)
		}
	})
}

func TestLogoutClearsCookie(t *testing.T) {
	s := newAuthServer(t, authTestKey)
	rec := serve(s, "POST", "/auth/logout", "", "", nil)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status = %d, want 204; body %s", rec.Code, rec.Body)
	}
	c := loginCookieOf(rec)
	if c == nil {
		t.Fatalf("logout set no %s cookie; Set-Cookie: %q", CookieName, rec.Header().Values("Set-Cookie"))
	}
	if c.Value != "" {
		t.Errorf("value = %q, want empty", c.Value)
	}
	if c.MaxAge >= 0 {
		t.Errorf("Max-Age = %d, want a negative value (Max-Age=0 on the wire)", c.MaxAge)
	}
	if c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie = %+v, want Path /, HttpOnly and SameSite=Strict like the login cookie", c)
	}
}

func TestSessionsWithoutCredentials(t *testing.T) {
	s := newAuthServer(t, authTestKey)
	rec := serve(s, "GET", "/sessions", "", "", nil)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", rec.Code)
	}
	if got := rec.Header().Get("WWW-Authenticate"); got == "" {
		t.Error("401 has no WWW-Authenticate header")
	}
}
