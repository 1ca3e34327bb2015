package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	validator "github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/tool"
	"github.com/agentry/agentry/transport"
	"github.com/agentry/agentry/transport/openapi"
	"github.com/agentry/agentry/transport/wire"
)

// docURL names the OpenAPI document inside the schema compiler; it is
// never fetched.
const docURL = "openapi.json"

// openAPIDoc returns the document decoded into generic JSON values.
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openapi.Document(), &doc); err != nil {
		t.Fatalf("the OpenAPI document is not valid JSON: %v", err)
	}
	return doc
}

// documentedPatterns returns "METHOD /path" for every operation of doc.
func documentedPatterns(t *testing.T, doc map[string]any) []string {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("the document has no paths object")
	}
	var out []string
	for path, item := range paths {
		for method := range item.(map[string]any) {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// newTransportServer builds the HTTP handler alone, with a memory store
// and the demo model, to read the patterns it registers.
func newTransportServer(t *testing.T) *transport.Server {
	t.Helper()
	m, err := manifest.Parse([]byte(demoManifest), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	lanes, err := llm.New(m.AgentConfig.LLMs, llm.Options{})
	if err != nil {
		t.Fatalf("llm.New: %v", err)
	}
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	engine, err := agent.New(agent.Config{Manifest: m, Store: st, Chat: lanes.Chat, Evaluation: lanes.Evaluation})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	srv, err := transport.New(transport.Config{Manifest: m, Store: st, Engine: engine})
	if err != nil {
		t.Fatalf("transport.New: %v", err)
	}
	return srv
}

func TestOpenAPIOperationsMatchRoutes(t *testing.T) {
	registered := newTransportServer(t).Patterns()
	documented := documentedPatterns(t, openAPIDoc(t))
	if len(registered) == 0 {
		t.Fatal("the server recorded no route patterns")
	}
	for _, p := range registered {
		if !slices.Contains(documented, p) {
			t.Errorf("route %q is registered but has no operation in the OpenAPI document; add it to transport/openapi/paths.go", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(registered, p) {
			t.Errorf("operation %q is in the OpenAPI document but no route is registered for it", p)
		}
	}
	var routes []string
	for _, r := range openapi.Routes() {
		routes = append(routes, r.Pattern())
	}
	sort.Strings(routes)
	if !slices.Equal(routes, documented) {
		t.Errorf("openapi.Routes() = %v, want the document's operations %v", routes, documented)
	}
}

// newDocCompiler returns a draft 2020-12 compiler that has the document
// as a resource, so that a schema is compiled by its JSON pointer.
func newDocCompiler(t *testing.T) *validator.Compiler {
	t.Helper()
	c := validator.NewCompiler()
	c.Draft = validator.Draft2020
	if err := c.AddResource(docURL, bytes.NewReader(openapi.Document())); err != nil {
		t.Fatalf("adding the OpenAPI document to the compiler: %v", err)
	}
	return c
}

// pointerToken escapes one JSON pointer token (RFC 6901).
func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// resolvePointer returns the value at a local JSON pointer ("#/a/b") of
// doc, or false when there is none.
func resolvePointer(doc any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
		if tok == "" && rest == "" {
			break
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch v := cur.(type) {
		case map[string]any:
			if cur, ok = v[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// collectRefs returns every "$ref" value under v with the pointer of the
// object that holds it.
func collectRefs(v any, at string, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok && k == "$ref" {
				out[at] = s
				continue
			}
			collectRefs(child, at+"/"+pointerToken(k), out)
		}
	case []any:
		for i, child := range v {
			collectRefs(child, at+"/"+strconv.Itoa(i), out)
		}
	}
}

// mediaSchemas returns the pointer of every request and response body
// schema of the document's operations.
func mediaSchemas(doc map[string]any) []string {
	var out []string
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			base := "#/paths/" + pointerToken(path) + "/" + method
			opMap := op.(map[string]any)
			if body, ok := opMap["requestBody"].(map[string]any); ok {
				for media := range body["content"].(map[string]any) {
					out = append(out, base+"/requestBody/content/"+pointerToken(media)+"/schema")
				}
			}
			for status, resp := range opMap["responses"].(map[string]any) {
				content, _ := resp.(map[string]any)["content"].(map[string]any)
				for media := range content {
					out = append(out, base+"/responses/"+status+"/content/"+pointerToken(media)+"/schema")
				}
			}
		}
	}
	for name, resp := range doc["components"].(map[string]any)["responses"].(map[string]any) {
		for media := range resp.(map[string]any)["content"].(map[string]any) {
			out = append(out, "#/components/responses/"+pointerToken(name)+"/content/"+pointerToken(media)+"/schema")
		}
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := openAPIDoc(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}

	refs := map[string]string{}
	collectRefs(doc, "#", refs)
	if len(refs) == 0 {
		t.Fatal("the document has no $ref; the schemas are expected to refer to components")
	}
	for at, ref := range refs {
		if _, ok := resolvePointer(doc, ref); !ok {
			t.Errorf("$ref %q at %s does not resolve inside the document", ref, at)
		}
	}

	c := newDocCompiler(t)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name := range schemas {
		if _, err := c.Compile(docURL + "#/components/schemas/" + pointerToken(name)); err != nil {
			t.Errorf("component schema %s does not compile as JSON Schema 2020-12: %v", name, err)
		}
	}
	for _, ptr := range mediaSchemas(doc) {
		if _, err := c.Compile(docURL + ptr); err != nil {
			t.Errorf("body schema %s does not compile: %v", ptr, err)
		}
	}

	// Every {name} in a path has a path parameter, and every path
	// parameter has its {name}.
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			var declared []string
			params, _ := op.(map[string]any)["parameters"].([]any)
			for _, p := range params {
				p := p.(map[string]any)
				if p["in"] == "path" {
					declared = append(declared, p["name"].(string))
				}
			}
			for _, name := range declared {
				if !strings.Contains(path, "{"+name+"}") {
					t.Errorf("%s %s declares path parameter %q that the path does not have", method, path, name)
				}
			}
			for _, seg := range strings.Split(path, "/") {
				if name, ok := strings.CutPrefix(seg, "{"); ok && !slices.Contains(declared, strings.TrimSuffix(name, "}")) {
					t.Errorf("%s %s has no parameter for path segment %s", method, path, seg)
				}
			}
		}
	}
}

func TestOpenAPIEventSchemaPerKind(t *testing.T) {
	doc := openAPIDoc(t)
	event, ok := resolvePointer(doc, "#/components/schemas/Event")
	if !ok {
		t.Fatal("components.schemas has no Event")
	}
	mapping, _ := resolvePointer(event, "#/discriminator/mapping")
	kinds := []string{wire.KindUserMessage, wire.KindAgentMessage, wire.KindStatus, wire.KindToolCall, wire.KindToolResult, wire.KindRoutine, wire.KindMode}
	for _, kind := range kinds {
		ref, ok := mapping.(map[string]any)[kind].(string)
		if !ok {
			t.Errorf("the Event discriminator maps no schema for kind %s", kind)
			continue
		}
		constKind, _ := resolvePointer(doc, ref+"/properties/kind/const")
		if constKind != kind {
			t.Errorf("%s has kind const %v, want %s", ref, constKind, kind)
		}
		if ap, ok := resolvePointer(doc, ref+"/additionalProperties"); ok && ap == false {
			t.Errorf("%s rejects additional properties, so adding a field would break clients", ref)
		}
	}

	// A future field passes, and a known field of the wrong type fails.
	c := newDocCompiler(t)
	sch, err := c.Compile(docURL + "#/components/schemas/Event")
	if err != nil {
		t.Fatalf("compile Event: %v", err)
	}
	withNewField := `{"session_id":"s-1","offset":0,"kind":"user_message","created_at":"2026-12-04T10:00:00Z","text":"hi","added_later":1}`
	if err := sch.Validate(decodeJSON(t, []byte(withNewField))); err != nil {
		t.Errorf("an event with an unknown field is rejected: %v", err)
	}
	badStatus := `{"session_id":"s-1","offset":1,"kind":"status","created_at":"2026-12-04T10:00:00Z","status":"sleeping"}`
	if err := sch.Validate(decodeJSON(t, []byte(badStatus))); err == nil {
		t.Error("a status event with status sleeping is accepted")
	}
}

func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %q: %v", data, err)
	}
	return v
}

// sampleManifest serves a scripted model that calls shop:refund when
// asked for a refund, and one autonomous routine, decide.
const sampleManifest = `
id: openapi-samples
name: OpenAPI samples
agent_config:
  runtime:
    api_key: ` + testKey + `
    max_body_bytes: 2048
  llms:
    default: scripted/test
    providers:
      scripted:
        script: SCRIPT
  context:
    routines:
      - id: decide
        entry: emit
        autonomous:
          input_schema:
            type: object
            properties:
              applicant_id: {type: string}
            required: [applicant_id]
          output_schema:
            type: object
            properties:
              decision: {type: string}
            required: [decision]
        nodes:
          - id: emit
            tools: ["built-in:emit_output"]
            tool_instruction: Decide and emit the output.
`

const sampleScript = `
- when: {after_tool: "built-in:emit_output"}
  reply: {text: "done"}
- when: {tool_offered: "built-in:emit_output"}
  reply:
    tool_call:
      name: built-in:emit_output
      arguments: {output_json: '{"decision": "approved"}'}
- when: {after_tool: "shop:refund"}
  reply: {text: "Your refund is on its way."}
- when: {user_matches: "refund"}
  reply: {tool_call: {name: "shop:refund", arguments: {order: "o-1"}}}
- reply: {text: "ok"}
`

type sampleRefundArgs struct {
	Order string `json:"order"`
}

// setupSamples starts the sample agent over HTTP with the shop:refund
// tool.
func setupSamples(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "script.yaml")
	if err := os.WriteFile(script, []byte(sampleScript), 0o600); err != nil {
		t.Fatal(err)
	}

	yaml := strings.ReplaceAll(sampleManifest, "SCRIPT", script)
	m, err := manifest.Parse([]byte(yaml), manifest.WithDir(dir), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}

	refund, err := tool.Func("shop:refund", "Refunds an order.", func(ctx context.Context, a sampleRefundArgs) (map[string]any, error) {
		return map[string]any{"order": a.Order, "refunded": true}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agentry.New(m, agentry.Options{Tools: []tool.Tool{refund}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("agentry.New: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}

	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &env{t: t, srv: srv, http: hs, url: hs.URL}
}

// responseChecker validates responses against the document's schema of
// their operation and status.
type responseChecker struct {
	t        *testing.T
	doc      map[string]any
	compiler *validator.Compiler
	routes   *http.ServeMux
	checked  map[string]bool
}

func newResponseChecker(t *testing.T) *responseChecker {
	doc := openAPIDoc(t)
	routes := http.NewServeMux()
	for _, p := range documentedPatterns(t, doc) {
		routes.Handle(p, http.NotFoundHandler())
	}
	return &responseChecker{t: t, doc: doc, compiler: newDocCompiler(t), routes: routes, checked: map[string]bool{}}
}

// schemaFor returns the pointer of the schema that the document gives for
// a response, and whether the response has a body at all. It fails the
// test when the operation, the status or the media type is not
// documented.
func (c *responseChecker) schemaFor(method, target string, status int, contentType string) (string, bool) {
	c.t.Helper()
	req, err := http.NewRequest(method, "http://agent.test"+target, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	_, pattern := c.routes.Handler(req)
	if pattern == "" {
		c.t.Fatalf("%s %s matches no operation of the document", method, target)
	}

	_, path, _ := strings.Cut(pattern, " ")
	c.checked[pattern] = true
	ptr := "#/paths/" + pointerToken(path) + "/" + strings.ToLower(method) + "/responses/" + strconv.Itoa(status)
	resp, ok := resolvePointer(c.doc, ptr)
	if !ok {
		c.t.Fatalf("%s: status %d is not documented", pattern, status)
	}
	if ref, ok := resp.(map[string]any)["$ref"].(string); ok {
		ptr = ref
		resp, _ = resolvePointer(c.doc, ref)
	}

	content, _ := resp.(map[string]any)["content"].(map[string]any)
	if len(content) == 0 {
		return "", false
	}
	media, _, _ := strings.Cut(contentType, ";")
	media = strings.TrimSpace(media)
	if _, ok := content[media]; !ok {
		c.t.Fatalf("%s %d: Content-Type %q is not documented; documented: %v", pattern, status, contentType, content)
	}
	return ptr + "/content/" + pointerToken(media) + "/schema", true
}

func (c *responseChecker) validate(ptr string, value any, what string) {
	c.t.Helper()
	sch, err := c.compiler.Compile(docURL + ptr)
	if err != nil {
		c.t.Fatalf("compile %s: %v", ptr, err)
	}
	if err := sch.Validate(value); err != nil {
		c.t.Errorf("%s does not match its schema %s: %v", what, ptr, err)
	}
}

// check validates a finished JSON exchange and returns the response.
func (c *responseChecker) check(method, target string, r response) response {
	c.t.Helper()
	ptr, hasBody := c.schemaFor(method, target, r.status, r.header.Get("Content-Type"))
	what := fmt.Sprintf("%s %s -> %d %s", method, target, r.status, r.body)
	if !hasBody {
		if len(bytes.TrimSpace(r.body)) != 0 {
			c.t.Errorf("%s: the document gives this response no body", what)
		}
		return r
	}
	var value any = string(r.body)
	if media, _, _ := strings.Cut(r.header.Get("Content-Type"), ";"); strings.HasSuffix(media, "json") {
		value = decodeJSON(c.t, r.body)
	}
	c.validate(ptr, value, what)
	return r
}

// checkStream reads n SSE frames of a session's event stream and
// validates each frame's data against the document's Event schema.
func (c *responseChecker) checkStream(e *env, sessionID string, n int) {
	c.t.Helper()
	target := "/sessions/" + sessionID + "/events?min_offset=0"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+target, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Accept", "text/event-stream")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	if _, ok := c.schemaFor("GET", target, resp.StatusCode, resp.Header.Get("Content-Type")); !ok {
		c.t.Fatal("the event stream response has no documented body")
	}

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var id, kind string
	for frames := 0; frames < n; {
		if !sc.Scan() {
			c.t.Fatalf("the stream ended after %d of %d frames: %v", frames, n, sc.Err())
		}
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			kind = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data := []byte(strings.TrimPrefix(line, "data: "))
			c.validate("#/components/schemas/Event", decodeJSON(c.t, data), "SSE frame "+string(data))
			var ev wire.Event
			if err := json.Unmarshal(data, &ev); err != nil {
				c.t.Fatal(err)
			}
			if id != strconv.FormatInt(ev.Offset, 10) {
				c.t.Errorf("SSE frame id %q, want the offset %d", id, ev.Offset)
			}
			if kind != ev.Kind {
				c.t.Errorf("SSE frame event %q, want the kind %s", kind, ev.Kind)
			}
			frames++
		}
	}
}

// call sends a request with the bearer key and validates the response.
func (c *responseChecker) call(e *env, method, target string, body any) response {
	c.t.Helper()
	return c.check(method, target, e.do(method, target, body))
}

// callWith sends a request with the given headers only and validates the
// response.
func (c *responseChecker) callWith(e *env, method, target string, body any, headers map[string]string) response {
	c.t.Helper()
	return c.check(method, target, e.doWith(method, target, body, headers))
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
}

func TestOpenAPIResponsesMatchSchemas(t *testing.T) {
	e := setupSamples(t)
	c := newResponseChecker(t)

	wantStatus(t, c.callWith(e, "GET", "/health", nil, nil), 200)
	wantStatus(t, c.callWith(e, "GET", "/health/live", nil, nil), 200)
	wantStatus(t, c.callWith(e, "GET", "/health/ready", nil, nil), 200)
	wantStatus(t, c.callWith(e, "GET", "/openapi.json", nil, nil), 200)
	wantStatus(t, c.call(e, "GET", "/metrics", nil), 200)

	// Customers.
	wantStatus(t, c.call(e, "PUT", "/customers/c-1", wire.PutCustomerRequest{Name: "Ada", Variables: map[string]any{"tier": "gold"}}), 201)
	wantStatus(t, c.call(e, "PUT", "/customers/c-1", wire.PutCustomerRequest{Name: "Ada"}), 200)
	wantStatus(t, c.call(e, "GET", "/customers/c-1", nil), 200)
	wantStatus(t, c.call(e, "PATCH", "/customers/c-1/variables", map[string]any{"tier": nil, "city": "Oslo"}), 200)
	wantStatus(t, c.call(e, "PATCH", "/customers/c-1/metadata", map[string]any{"crm": "x-1"}), 200)

	// Sessions, and a turn that calls a tool.
	wantStatus(t, c.call(e, "POST", "/sessions", wire.CreateSessionRequest{ID: "s-1", CustomerID: "c-1"}), 201)
	wantStatus(t, c.call(e, "POST", "/sessions", wire.CreateSessionRequest{ID: "s-1"}), 200)
	wantStatus(t, c.call(e, "GET", "/sessions?customer_id=c-1&limit=10", nil), 200)
	wantStatus(t, c.call(e, "POST", "/sessions/s-1/messages", wire.PostMessageRequest{Text: "I want a refund"}), 201)
	events := e.waitReady("s-1", 0, 1)
	wantStatus(t, c.call(e, "POST", "/sessions/s-1/tool_events", map[string]any{"tool": "crm:export", "arguments": map[string]any{"id": "c-1"}, "result": map[string]any{"plan": "pro"}}), 201)
	mode := "manual"
	wantStatus(t, c.call(e, "PATCH", "/sessions/s-1", wire.PatchSessionRequest{Mode: &mode}), 200)

	page := c.call(e, "GET", "/sessions/s-1/events?min_offset=0&limit=1000", nil)
	wantStatus(t, page, 200)
	var all wire.EventPage
	page.decode(t, &all)
	seen := map[string]bool{}
	for _, ev := range all.Events {
		seen[ev.Kind] = true
	}
	for _, kind := range []string{wire.KindUserMessage, wire.KindAgentMessage, wire.KindStatus, wire.KindToolCall, wire.KindToolResult, wire.KindMode} {
		if !seen[kind] {
			t.Errorf("the sample session has no %s event, so its schema was not checked against a real one; events: %s", kind, kinds(all.Events))
		}
	}
	if len(events) == 0 {
		t.Error("the turn produced no events")
	}
	wantStatus(t, c.call(e, "GET", "/sessions/s-1/events?min_offset=0&kinds=mode,tool_result&wait=0", nil), 200)
	wantStatus(t, c.call(e, "GET", "/sessions/s-1/events?min_offset="+itoa(all.NextOffset)+"&wait=0.1", nil), 200)
	c.checkStream(e, "s-1", len(all.Events))

	wantStatus(t, c.call(e, "GET", "/sessions/s-1", nil), 200)
	wantStatus(t, c.call(e, "POST", "/sessions/s-1/cancel", nil), 200)
	wantStatus(t, c.call(e, "POST", "/sessions/s-1/redeliver", nil), 202)

	// Routines and runs.
	wantStatus(t, c.call(e, "GET", "/routines", nil), 200)
	wantStatus(t, c.call(e, "GET", "/routines/decide", nil), 200)
	trigger := c.callWith(e, "POST", "/routines/decide/trigger", map[string]any{"input": map[string]any{"applicant_id": "a-1"}},
		map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "application/json", "Idempotency-Key": "k-1"})
	wantStatus(t, trigger, 202)
	var queued wire.TriggerResponse
	trigger.decode(t, &queued)
	wantStatus(t, c.callWith(e, "POST", "/routines/decide/trigger", map[string]any{"input": map[string]any{"applicant_id": "a-1"}},
		map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "application/json", "Idempotency-Key": "k-1"}), 200)
	run := c.call(e, "GET", "/runs/"+queued.RunID+"?wait=10", nil)
	wantStatus(t, run, 200)
	var finished wire.Run
	run.decode(t, &finished)
	if finished.Status != wire.RunSucceeded {
		t.Errorf("run status %s, want succeeded; body %s", finished.Status, run.body)
	}
	wantStatus(t, c.call(e, "POST", "/runs/"+queued.RunID+"/cancel", nil), 200)

	// Error bodies, each with a code the document lists for its status.
	wantStatus(t, c.call(e, "POST", "/runs/"+queued.RunID+"/redeliver", nil), 409)
	wantStatus(t, c.call(e, "GET", "/sessions/nope", nil), 404)
	wantStatus(t, c.call(e, "GET", "/runs/run_missing", nil), 404)
	wantStatus(t, c.call(e, "GET", "/sessions/s-1/events?min_offset=-1", nil), 400)
	wantStatus(t, c.call(e, "POST", "/sessions/s-1/messages", "{not json"), 400)
	wantStatus(t, c.call(e, "POST", "/sessions/s-1/messages", wire.PostMessageRequest{Text: " "}), 422)
	wantStatus(t, c.call(e, "POST", "/routines/decide/trigger", map[string]any{"input": map[string]any{"applicant_id": "a-1", "x": 1}, "idempotency_key": "k-1"}), 409)
	wantStatus(t, c.call(e, "POST", "/sessions/s-1/messages", map[string]any{"text": strings.Repeat("x", 4096)}), 413)
	wantStatus(t, c.callWith(e, "POST", "/sessions/s-1/messages", "text=hi", map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "text/plain"}), 415)
	wantStatus(t, c.callWith(e, "GET", "/sessions", nil, nil), 401)
	wantStatus(t, c.callWith(e, "GET", "/sessions", nil, map[string]string{"Authorization": "Bearer wrong"}), 401)
	wantStatus(t, c.callWith(e, "POST", "/webhooks/unknown", "{}", map[string]string{"Content-Type": "application/json"}), 404)

	// Cookie login for the chat page.
	wantStatus(t, c.callWith(e, "POST", "/auth/login", url.Values{"api_key": {"wrong"}}.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), 401)
	login := c.callWith(e, "POST", "/auth/login", map[string]string{"api_key": testKey}, map[string]string{"Content-Type": "application/json"})
	wantStatus(t, login, 200)
	cookie := login.header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, transport.CookieName+"=") {
		t.Fatalf("login set no %s cookie: %q", transport.CookieName, cookie)
	}
	token, _, _ := strings.Cut(cookie, ";")
	wantStatus(t, c.callWith(e, "GET", "/sessions/s-1", nil, map[string]string{"Cookie": token}), 200)
	wantStatus(t, c.callWith(e, "GET", "/sessions/s-1", nil, map[string]string{"Cookie": token, "Sec-Fetch-Site": "cross-site"}), 403)
	wantStatus(t, c.callWith(e, "POST", "/auth/logout", nil, nil), 204)

	// The chat page, and its redirect, which the client must not follow.
	wantStatus(t, c.callWith(e, "GET", "/ui/", nil, nil), 200)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(e.url + "/ui")
	if err != nil {
		t.Fatalf("GET /ui: %v", err)
	}
	resp.Body.Close()
	wantStatus(t, c.check("GET", "/ui", response{status: resp.StatusCode, header: resp.Header}), 301)

	// Deleting last, then reusing the deleted id.
	wantStatus(t, c.call(e, "DELETE", "/sessions/s-1", nil), 204)
	wantStatus(t, c.call(e, "POST", "/sessions", wire.CreateSessionRequest{ID: "s-1"}), 409)

	var missed []string
	for _, p := range documentedPatterns(t, c.doc) {
		if !c.checked[p] {
			missed = append(missed, p)
		}
	}
	if len(missed) > 0 {
		t.Errorf("operations without a sample response: %v; add a request for each to this test", missed)
	}
}
