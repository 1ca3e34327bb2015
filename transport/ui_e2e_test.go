package transport_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/internal/webdriver"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
	"github.com/agentry/agentry/transport/wire"
)

// uiPrefix is where the e2e test mounts the handler, so that the page's
// relative URLs and the cookie path are exercised under a prefix.
const uiPrefix = "/agent"

// chromiumArgs start a headless browser that contacts no host besides
// the test server: no background networking, component updates, sync,
// safe browsing lists or metrics.
var chromiumArgs = []string{
	"--headless=new",
	"--disable-gpu",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--disable-default-apps",
	"--disable-extensions",
	"--disable-domain-reliability",
	"--disable-client-side-phishing-detection",
	"--disable-breakpad",
	"--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater,SafeBrowsing",
	"--safebrowsing-disable-auto-update",
	"--metrics-recording-only",
	"--no-first-run",
	"--no-default-browser-check",
	"--no-pings",
	"--dns-prefetch-disable",
	"--password-store=basic",
	"--use-mock-keychain",
	"--window-size=420,900",
}

type orderArgs struct {
	Question string `json:"question" jsonschema:"description=the customer's question"`
}

type orderStatus struct {
	Order string `json:"order"`
	State string `json:"state"`
}

// browser is one headless Chromium session on the chat page.
type browser struct {
	t   *testing.T
	ctx context.Context
	s   *webdriver.Session
}

func TestChatPageInChromium(t *testing.T) {
	chromium, chromedriver := testenv.Chromium(t)
	base := startUIServer(t)
	b := startBrowser(t, chromium, chromedriver)

	if err := b.s.Navigate(b.ctx, base+uiPrefix+"/ui"); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	b.waitVisible("login-view")

	// A wrong key shows an error and keeps the login form.
	b.typeInto("#api-key", "wrong-key")
	b.click("#login-form button[type=submit]")
	b.waitVisible("login-error")
	if got := b.text("#login-error"); !strings.Contains(got, "wrong") {
		t.Errorf("login error text = %q, want it to say the key is wrong", got)
	}
	if !b.visible("login-view") {
		t.Error("the login form is gone after a wrong key")
	}

	b.clear("#api-key")
	b.typeInto("#api-key", testKey)
	b.click("#login-form button[type=submit]")
	b.waitVisible("sessions-view")
	var cookies string
	b.script(&cookies, `return document.cookie`)
	if strings.Contains(cookies, "agent_auth") {
		t.Errorf("document.cookie = %q: the login cookie is readable by scripts, want HttpOnly", cookies)
	}

	b.click("#new-session")
	b.waitVisible("chat-view")
	sessionID := b.text("#chat-session-id")
	if sessionID == "" {
		t.Fatal("the chat view shows no session id")
	}
	b.waitScript("the event stream is open", `return document.getElementById("status").dataset.status === "ready"`)

	b.typeInto("#message-text", "Hello!")
	b.click("#send")
	b.waitEntry(`li[data-kind=user_message][data-source=customer]`, "Hello!")
	reply := b.waitEntry(`li[data-kind=agent_message]`, "")
	if reply == "" {
		t.Error("the agent's reply is empty")
	}
	b.waitScript("status ready after the reply", `return document.getElementById("status").dataset.status === "ready"`)

	b.typeInto("#message-text", "What is my order status?")
	b.click("#send")
	b.waitEntry(`li[data-kind=tool_call]`, "shop:order_status")
	b.waitEntry(`li[data-kind=tool_result]`, "shipped")
	b.waitScript("status ready after the tool reply", `return document.querySelectorAll("li[data-kind=agent_message]").length === 2 && document.getElementById("status").dataset.status === "ready"`)

	// Take the session over, reply as a human agent, then hand it back.
	b.click("#mode-toggle")
	b.waitScript("mode manual", `return document.getElementById("mode").textContent === "manual"`)
	b.waitEntry(`li[data-kind=mode]`, "manual")
	var sourceValue string
	b.script(&sourceValue, `return document.getElementById("message-source").value`)
	if sourceValue != "human_agent" {
		t.Errorf("Send as = %q in manual mode, want human_agent", sourceValue)
	}
	b.typeInto("#message-text", "A person is here to help.")
	b.click("#send")
	b.waitEntry(`li[data-kind=user_message][data-source=human_agent]`, "A person is here to help.")
	if who := b.text(`li[data-kind=user_message][data-source=human_agent] .who`); who != "Human agent" {
		t.Errorf("label of the human agent's message = %q, want %q", who, "Human agent")
	}
	checkStoredHumanMessage(t, base, sessionID)

	b.click("#mode-toggle")
	b.waitScript("mode auto", `return document.getElementById("mode").textContent === "auto"`)
	b.waitScript("a second mode entry", `return document.querySelectorAll("li[data-kind=mode]").length === 2`)

	saveScreenshot(t, b)

	// Resume the session from the list: the transcript is replayed.
	b.click("#back")
	b.waitVisible("sessions-view")
	b.click(fmt.Sprintf(`button[aria-label="Open session %s"]`, sessionID))
	b.waitVisible("chat-view")
	b.waitEntry(`li[data-kind=user_message][data-source=human_agent]`, "A person is here to help.")
	var userMessages int
	b.script(&userMessages, `return document.querySelectorAll("li[data-kind=user_message]").length`)
	if userMessages != 3 {
		t.Errorf("resumed transcript has %d user messages, want 3", userMessages)
	}

	var foreign []string
	b.script(&foreign, `return performance.getEntriesByType("resource").map(e => e.name).filter(u => !u.startsWith(location.origin + "/"))`)
	if len(foreign) > 0 {
		t.Errorf("the page requested other origins: %q", foreign)
	}

	b.click("#logout")
	b.waitVisible("login-view")
}

// startUIServer serves the demo model and one native tool under uiPrefix
// and returns the server's base URL.
func startUIServer(t *testing.T) string {
	t.Helper()
	m, err := manifest.Parse([]byte(demoManifest), manifest.WithDir(t.TempDir()), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	status, err := tool.Func("shop:order_status", "Looks up the status of the customer's order.",
		func(ctx context.Context, a orderArgs) (orderStatus, error) {
			return orderStatus{Order: "A-42", State: "shipped"}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := agentry.New(m, agentry.Options{Logger: logger, Tools: []tool.Tool{status}})
	if err != nil {
		t.Fatalf("agentry.New: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(uiPrefix+"/", http.StripPrefix(uiPrefix, srv))
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return hs.URL
}

// startBrowser starts chromedriver and a headless Chromium session. Both
// stop when the test ends.
func startBrowser(t *testing.T, chromium, chromedriver string) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	driver, err := webdriver.Start(ctx, chromedriver, filepath.Join(dir, "chromedriver.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(driver.Close)

	args := append([]string{"--user-data-dir=" + filepath.Join(dir, "profile")}, chromiumArgs...)
	if os.Geteuid() == 0 {
		// Chromium's sandbox does not run as root.
		args = append(args, "--no-sandbox")
	}
	s, err := driver.NewSession(ctx, map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args":   args,
		},
	})
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "chromedriver.log"))
		t.Fatalf("starting Chromium: %v\nchromedriver log:\n%s", err, log)
	}
	t.Cleanup(func() {
		if err := s.Delete(context.Background()); err != nil {
			t.Errorf("closing Chromium: %v", err)
		}
	})
	return &browser{t: t, ctx: ctx, s: s}
}

func (b *browser) find(selector string) webdriver.Element {
	b.t.Helper()
	el, err := b.s.Find(b.ctx, selector)
	if err != nil {
		b.t.Fatalf("find %s: %v", selector, err)
	}
	return el
}

func (b *browser) click(selector string) {
	b.t.Helper()
	if err := b.find(selector).Click(b.ctx); err != nil {
		b.t.Fatalf("click %s: %v", selector, err)
	}
}

func (b *browser) clear(selector string) {
	b.t.Helper()
	if err := b.find(selector).Clear(b.ctx); err != nil {
		b.t.Fatalf("clear %s: %v", selector, err)
	}
}

func (b *browser) typeInto(selector, text string) {
	b.t.Helper()
	if err := b.find(selector).SendKeys(b.ctx, text); err != nil {
		b.t.Fatalf("type into %s: %v", selector, err)
	}
}

func (b *browser) text(selector string) string {
	b.t.Helper()
	text, err := b.find(selector).Text(b.ctx)
	if err != nil {
		b.t.Fatalf("text of %s: %v", selector, err)
	}
	return text
}

func (b *browser) script(out any, script string, args ...any) {
	b.t.Helper()
	if err := b.s.ExecuteScript(b.ctx, out, script, args...); err != nil {
		b.t.Fatalf("script %s: %v", script, err)
	}
}

func (b *browser) visible(id string) bool {
	b.t.Helper()
	var shown bool
	b.script(&shown, `const el = document.getElementById(arguments[0]); return el !== null && !el.hidden`, id)
	return shown
}

// waitScript polls script, which returns a boolean, until it returns true,
// and fails the test after 10 s.
func (b *browser) waitScript(what, script string, args ...any) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		b.script(&ok, script, args...)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var page string
			b.script(&page, `return document.querySelector("main").innerText`)
			b.t.Fatalf("%s: not true within 10s; the page shows:\n%s", what, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browser) waitVisible(id string) {
	b.t.Helper()
	b.waitScript("#"+id+" visible", `const el = document.getElementById(arguments[0]); return el !== null && !el.hidden`, id)
}

// waitEntry waits for a transcript entry that matches selector and
// contains text, and returns the text of the last such entry.
func (b *browser) waitEntry(selector, text string) string {
	b.t.Helper()
	const find = `return [...document.querySelectorAll(arguments[0])].filter(e => e.textContent.includes(arguments[1])).length > 0`
	b.waitScript(fmt.Sprintf("an entry %s containing %q", selector, text), find, selector, text)
	var got string
	b.script(&got, `const all = [...document.querySelectorAll(arguments[0])].filter(e => e.textContent.includes(arguments[1]));
		const p = all[all.length - 1].querySelector(".text"); return p ? p.textContent : ""`, selector, text)
	return got
}

// checkStoredHumanMessage reads the session's events with the bearer token
// and checks that the page stored the human agent's message as such.
func checkStoredHumanMessage(t *testing.T, base, sessionID string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+uiPrefix+"/sessions/"+sessionID+"/events?kinds=user_message", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, body: body}
	if r.status != http.StatusOK {
		t.Fatalf("GET events: %d %s", r.status, body)
	}
	var page wire.EventPage
	r.decode(t, &page)
	for _, ev := range page.Events {
		if ev.Text == "A person is here to help." {
			if ev.Source != "human_agent" {
				t.Errorf("stored source = %q, want human_agent", ev.Source)
			}
			return
		}
	}
	t.Errorf("the human agent's message is not stored; user messages: %s", kinds(page.Events))
}

func saveScreenshot(t *testing.T, b *browser) {
	t.Helper()
	data, err := b.s.Screenshot(b.ctx)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.TempDir(), "chat.png")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", path, err)
	}
	if bounds := img.Bounds(); bounds.Dx() == 0 || bounds.Dy() == 0 {
		t.Errorf("screenshot is %dx%d, want a nonzero size", bounds.Dx(), bounds.Dy())
	}
	if path := os.Getenv("AGENTRY_TEST_SCREENSHOT"); path != "" {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Errorf("copying the screenshot to %s: %v", path, err)
		}
	}
}
