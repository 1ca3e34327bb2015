// Package ui embeds the built-in chat page: plain HTML, CSS and
// JavaScript with no build step. The page calls only the server that
// serves it, through URLs relative to its own, so it works under any
// mount prefix.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy lets the page load its scripts, styles and images
// from its own origin and connect only there, and forbids everything else,
// inline scripts and framing included.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Files returns the page's files, with index.html at the root.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// fs.Sub fails only for an invalid directory name, and "static"
		// is a valid one.
		panic(err)
	}
	return sub
}

// Handler serves the page's files at the paths it receives, "/" being
// index.html, so mount it with [http.StripPrefix]. Every response carries
// ContentSecurityPolicy, and browsers revalidate the files on each load,
// so a new binary's page replaces the old one at once.
func Handler() http.Handler {
	files := http.FileServerFS(Files())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// RedirectToPage redirects a request for the page's directory without its
// trailing slash, such as GET /ui, to "ui/". The Location
// is relative to the request, so the redirect stays under a mount prefix
// that the handler does not see.
func RedirectToPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Location", "ui/")
	w.WriteHeader(http.StatusMovedPermanently)
}
