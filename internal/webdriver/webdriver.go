// Package webdriver is a small client of the W3C WebDriver protocol
// (https://www.w3.org/TR/webdriver2/) for tests that drive a browser
// through chromedriver on loopback. It covers what those tests use:
// sessions, navigation, finding elements, clicks, typed keys, scripts
// and screenshots.
package webdriver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// elementKey is the JSON member that identifies a web element reference,
// fixed by the WebDriver specification.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// startTimeout bounds how long Start waits for chromedriver to report
// that it is ready.
const startTimeout = 20 * time.Second

// Driver is a running chromedriver process listening on 127.0.0.1.
type Driver struct {
	cmd    *exec.Cmd
	base   string
	client *http.Client
	exited chan struct{}
}

// Start runs the chromedriver binary at path on a free loopback port and
// waits until its /status reports ready. chromedriver's output goes to the
// file logPath. Call Close to stop it.
func Start(ctx context.Context, path, logPath string) (*Driver, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the chromedriver log: %w", err)
	}
	defer logFile.Close()

	// chromedriver listens on loopback only unless --allowed-ips is given.
	cmd := exec.Command(path, "--port="+strconv.Itoa(port))
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	d := &Driver{
		cmd:    cmd,
		base:   "http://127.0.0.1:" + strconv.Itoa(port),
		client: &http.Client{Timeout: 60 * time.Second},
		exited: make(chan struct{}),
	}
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	if err := d.waitReady(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("%w; see the chromedriver log %s", err, logPath)
	}
	return d, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (d *Driver) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var status struct {
			Ready bool `json:"ready"`
		}
		if err := d.do(ctx, http.MethodGet, "/status", nil, &status); err == nil && status.Ready {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("chromedriver exited before it was ready: %v", d.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("chromedriver was not ready within %v", startTimeout)
		case <-tick.C:
		}
	}
}

// Close stops chromedriver and waits for it to exit.
func (d *Driver) Close() {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
}

// Error is an error response of the WebDriver protocol.
type Error struct {
	Status  int
	Code    string // the WebDriver error code, such as "no such element"
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("webdriver: %s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// IsNoSuchElement reports whether err is the "no such element" error.
func IsNoSuchElement(err error) bool {
	var we *Error
	return errors.As(err, &we) && we.Code == "no such element"
}

// do sends one command and decodes the "value" member of the response into
// out, unless out is nil.
func (d *Driver) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("webdriver: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("webdriver: reading the response of %s %s: %w", method, path, err)
	}
	var envelope struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &envelope); err != nil {
		return fmt.Errorf("webdriver: %s %s returned %d with a body that is not JSON: %.200q", method, path, resp.StatusCode, data)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(envelope.Value, &e)
		return &Error{Status: resp.StatusCode, Code: e.Error, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(envelope.Value, out); err != nil {
		return fmt.Errorf("webdriver: decoding the value of %s %s: %w", method, path, err)
	}
	return nil
}

// Session is one browser session.
type Session struct {
	d  *Driver
	id string
}

// NewSession starts a browser with the capabilities to always match, such
// as {"browserName": "chrome", "goog:chromeOptions": {...}}.
func (d *Driver) NewSession(ctx context.Context, alwaysMatch map[string]any) (*Session, error) {
	in := map[string]any{"capabilities": map[string]any{"alwaysMatch": alwaysMatch}}
	var out struct {
		SessionID string `json:"sessionId"`
	}
	if err := d.do(ctx, http.MethodPost, "/session", in, &out); err != nil {
		return nil, err
	}
	if out.SessionID == "" {
		return nil, errors.New("webdriver: new session returned no sessionId")
	}
	return &Session{d: d, id: out.SessionID}, nil
}

func (s *Session) do(ctx context.Context, method, path string, in, out any) error {
	return s.d.do(ctx, method, "/session/"+s.id+path, in, out)
}

// Delete ends the session and closes the browser.
func (s *Session) Delete(ctx context.Context) error {
	return s.do(ctx, http.MethodDelete, "", nil, nil)
}

// Navigate loads url and waits for the page load.
func (s *Session) Navigate(ctx context.Context, url string) error {
	return s.do(ctx, http.MethodPost, "/url", map[string]string{"url": url}, nil)
}

// Element is a reference to an element of the current page.
type Element struct {
	s  *Session
	id string
}

// Find returns the first element that matches the CSS selector, or an
// error for which IsNoSuchElement is true.
func (s *Session) Find(ctx context.Context, selector string) (Element, error) {
	var ref map[string]any
	if err := s.do(ctx, http.MethodPost, "/element", map[string]string{"using": "css selector", "value": selector}, &ref); err != nil {
		return Element{}, err
	}
	id, _ := ref[elementKey].(string)
	if id == "" {
		return Element{}, fmt.Errorf("webdriver: element reference for %q has no %s member: %v", selector, elementKey, ref)
	}
	return Element{s: s, id: id}, nil
}

// Click clicks the element in its center, after scrolling it into view.
func (e Element) Click(ctx context.Context) error {
	return e.s.do(ctx, http.MethodPost, "/element/"+e.id+"/click", map[string]any{}, nil)
}

// Clear empties an input or textarea.
func (e Element) Clear(ctx context.Context) error {
	return e.s.do(ctx, http.MethodPost, "/element/"+e.id+"/clear", map[string]any{}, nil)
}

// SendKeys types text into the element, after focusing it.
func (e Element) SendKeys(ctx context.Context, text string) error {
	return e.s.do(ctx, http.MethodPost, "/element/"+e.id+"/value", map[string]string{"text": text}, nil)
}

// Text returns the element's rendered text, which is empty when the
// element is hidden.
func (e Element) Text(ctx context.Context) (string, error) {
	var text string
	err := e.s.do(ctx, http.MethodGet, "/element/"+e.id+"/text", nil, &text)
	return text, err
}

// ExecuteScript runs script as the body of a function called with args
// and decodes its return value into out, unless out is nil.
func (s *Session) ExecuteScript(ctx context.Context, out any, script string, args ...any) error {
	if args == nil {
		args = []any{}
	}
	return s.do(ctx, http.MethodPost, "/execute/sync", map[string]any{"script": script, "args": args}, out)
}

// Screenshot returns a PNG image of the current viewport.
func (s *Session) Screenshot(ctx context.Context) ([]byte, error) {
	var encoded string
	if err := s.do(ctx, http.MethodGet, "/screenshot", nil, &encoded); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("webdriver: decoding the screenshot: %w", err)
	}
	return png, nil
}
