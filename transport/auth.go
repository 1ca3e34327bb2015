package transport

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentry/agentry/transport/wire"
)

// CookieName is the name of the cookie that POST /auth/login sets.
const CookieName = "agent_auth"

// DefaultLoginTTL is how long a login cookie stays valid when
// Config.LoginTTL is zero.
const DefaultLoginTTL = 12 * time.Hour

// loginTokenVersion prefixes every login token, so that a later format
// can tell old tokens apart and reject them.
const loginTokenVersion = "v1"

// hkdfInfo binds the derived signing key to this one use of the api key.
const hkdfInfo = "agentry agent_auth cookie signing key v1"

// errCrossSiteLogin rejects a login or logout sent from another site's
// page, so another site cannot log a browser in or out.
var errCrossSiteLogin = &apiError{status: http.StatusForbidden, code: wire.CodeForbidden,
	message: "cross-site login and logout requests are rejected; open the chat page of this server, or send the api key as a bearer token"}

var errForbidden = &apiError{status: http.StatusForbidden, code: wire.CodeForbidden,
	message: "cross-site requests may not use the login cookie; send the api key as a bearer token instead"}

// loginSigner issues and verifies login tokens. A token is
// "v1.<expiry>.<signature>": the expiry in Unix seconds and the
// unpadded base64url HMAC-SHA256 of "v1.<expiry>". The HMAC key is derived
// from the api key with HKDF-SHA256, so the token never contains the api
// key, and a change of api key invalidates every token issued before.
//
// NOTE: tokens are not stored, so logout only clears the browser's
// cookie. A copy of the token stays valid until it expires or the api key
// changes.
type loginSigner struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

func newLoginSigner(apiKey string, ttl time.Duration) (*loginSigner, error) {
	if ttl <= 0 {
		ttl = DefaultLoginTTL
	}
	key, err := hkdf.Key(sha256.New, []byte(apiKey), nil, hkdfInfo, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("deriving the login cookie key: %w", err)
	}
	return &loginSigner{key: key, ttl: ttl, now: time.Now}, nil
}

// issue returns a new token and the time it expires.
func (ls *loginSigner) issue() (string, time.Time) {
	expiry := ls.now().Add(ls.ttl).Truncate(time.Second)
	payload := loginTokenVersion + "." + strconv.FormatInt(expiry.Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(ls.sign(payload)), expiry
}

func (ls *loginSigner) sign(payload string) []byte {
	mac := hmac.New(sha256.New, ls.key)
	mac.Write([]byte(payload))
	return mac.Sum(nil)
}

// verify reports whether token was issued with this api key and has not
// expired.
func (ls *loginSigner) verify(token string) bool {
	payload, sig, ok := cutLast(token, ".")
	if !ok {
		return false
	}
	version, expiry, ok := strings.Cut(payload, ".")
	if !ok || version != loginTokenVersion || expiry == "" || strings.TrimLeft(expiry, "0123456789") != "" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, ls.sign(payload)) {
		return false
	}
	seconds, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil {
		return false
	}
	return ls.now().Before(time.Unix(seconds, 0))
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// loginRequest is the JSON body of POST /auth/login.
type loginRequest struct {
	APIKey string `json:"api_key"`
}

// loginResult is the body of a successful POST /auth/login.
type loginResult struct {
	ExpiresAt time.Time `json:"expires_at"`
}

// login serves POST /auth/login. It reads the api key from the form field
// api_key or the JSON member api_key, compares it in constant time and, on
// a match, sets the login cookie. A wrong key is 401 and sets no cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if crossSite(r) {
		return errCrossSiteLogin
	}
	key, err := s.readLoginKey(w, r)
	if err != nil {
		return err
	}
	got := sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(got[:], s.keyHash[:]) != 1 {
		s.log.Info("login rejected: wrong api key", "remote_addr", r.RemoteAddr)
		return errUnauthorized
	}
	token, expiry := s.logins.issue()
	http.SetCookie(w, s.loginCookie(r, token, expiry))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, loginResult{ExpiresAt: expiry.UTC()})
	return nil
}

// readLoginKey returns the api key of a login request, sent as an HTML
// form or as JSON.
func (s *Server) readLoginKey(w http.ResponseWriter, r *http.Request) (string, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		var req loginRequest
		if err := s.decodeJSON(w, r, &req, false); err != nil {
			if ae, ok := errors.AsType[*apiError](err); ok && ae.code == wire.CodeUnsupportedMediaType {
				ae.message = fmt.Sprintf("Content-Type %q is not supported; send application/json or application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
			}
			return "", err
		}
		if req.APIKey == "" {
			return "", invalid(wire.FieldDetail{Path: "/api_key", Message: "is required"})
		}
		return req.APIKey, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if err := r.ParseForm(); err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return "", &apiError{status: http.StatusRequestEntityTooLarge, code: wire.CodeBodyTooLarge,
				message: fmt.Sprintf("the body is over the limit of %d bytes", mbe.Limit)}
		}
		return "", badParam("the form body is invalid: %v", err)
	}
	key := r.PostForm.Get("api_key")
	if key == "" {
		return "", invalid(wire.FieldDetail{Path: "api_key", Message: "form field is required"})
	}
	return key, nil
}

// logout serves POST /auth/logout: it clears the login cookie. It needs
// no credentials, because clearing a cookie grants nothing.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if crossSite(r) {
		return errCrossSiteLogin
	}
	c := s.loginCookie(r, "", time.Unix(0, 0))
	c.MaxAge = -1
	http.SetCookie(w, c)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// loginCookie returns the login cookie for token. Its path is the prefix
// the handler is mounted under, as the client sees it, so that a cookie of
// one mounted agent is not sent to another on the same host.
func (s *Server) loginCookie(r *http.Request, token string, expiry time.Time) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     mountPrefix(r, "/auth/"),
		Expires:  expiry,
		MaxAge:   int(expiry.Sub(s.logins.now()).Seconds()),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}

// mountPrefix returns the path the client requested minus the path this
// handler received, which http.StripPrefix removed, or "/" when nothing was
// removed. It also returns "/" when r.URL.Path does not start with route,
// the route of the calling handler, because then the path was rewritten
// in a way this function cannot undo.
func mountPrefix(r *http.Request, route string) string {
	if r.RequestURI == "" || !strings.HasPrefix(r.URL.Path, route) {
		return "/"
	}
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return "/"
	}
	prefix, ok := strings.CutSuffix(u.Path, r.URL.Path)
	if !ok || prefix == "" || !strings.HasPrefix(prefix, "/") {
		return "/"
	}
	return prefix
}

// cookieAuthenticated reports whether r carries the login cookie and no
// Authorization header, which always wins over the cookie.
func cookieAuthenticated(r *http.Request) (*http.Cookie, bool) {
	if _, ok := r.Header["Authorization"]; ok {
		return nil, false
	}
	c, err := r.Cookie(CookieName)
	return c, err == nil
}

// checkCookie authenticates a request by its login cookie: a token that is
// malformed, forged, expired or from another api key is 401, and a
// cross-site request is 403 even with a valid cookie.
func (s *Server) checkCookie(r *http.Request, c *http.Cookie) error {
	if !s.logins.verify(c.Value) {
		return errUnauthorized
	}
	if crossSite(r) {
		return errForbidden
	}
	return nil
}

// crossSite reports whether a browser sent r from another site: its
// Sec-Fetch-Site header is cross-site, or its Origin header names a host
// other than the request's Host. Requests without those headers, such as
// those of curl, are not cross-site.
//
// NOTE: a proxy that rewrites Host must pass the client's Host on, or
// every request with an Origin header counts as cross-site.
func crossSite(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		// "null" and other opaque origins cannot be the page's own.
		return true
	}
	return !strings.EqualFold(u.Host, r.Host)
}
