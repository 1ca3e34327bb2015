package agent

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm/scripted"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/tool"
)

// recordingModel records the messages and options of every call before
// passing it to the model it wraps.
type recordingModel struct {
	llms.Model
	mu    sync.Mutex
	calls [][]llms.MessageContent
	opts  []llms.CallOptions
	// barrier, when set, holds each call until that many calls are in
	// flight at once, or 5 s pass.
	barrier  int
	inFlight int
	met      chan struct{}
	barrierT *testing.T
}

func (r *recordingModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	var co llms.CallOptions
	for _, o := range options {
		o(&co)
	}
	r.mu.Lock()
	r.calls = append(r.calls, msgs)
	r.opts = append(r.opts, co)
	wait := r.barrier > 0 && r.met != nil
	if wait {
		r.inFlight++
		if r.inFlight == r.barrier {
			close(r.met)
		}
	}
	r.mu.Unlock()
	if wait {
		select {
		case <-r.met:
		case <-time.After(5 * time.Second):
			r.barrierT.Errorf("only %d evaluation calls ran at once within 5s, want %d", r.inFlight, r.barrier)
		}
	}
	return r.Model.GenerateContent(ctx, msgs, options...)
}

func (r *recordingModel) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// systemText returns the system message of call i.
func (r *recordingModel) systemText(t *testing.T, i int) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if i >= len(r.calls) {
		t.Fatalf("call %d was not made; %d calls in all", i, len(r.calls))
	}
	return textOf(r.calls[i][0])
}

// scriptedModel returns a recording scripted model on lane that follows
// script.
func scriptedModel(t *testing.T, lane, script string) *recordingModel {
	t.Helper()
	sc, err := scripted.ParseScript([]byte(script))
	if err != nil {
		t.Fatal(err)
	}
	m, err := scripted.New("test", scripted.WithScript(sc), scripted.WithLane(lane))
	if err != nil {
		t.Fatal(err)
	}
	return &recordingModel{Model: m}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a log
// handler.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// policyEngine starts an engine over a memory store for the manifest
// context block contextYAML (indented under context:) and runtime lines.
func policyEngine(t *testing.T, runtimeYAML, contextYAML string, chat, eval llms.Model, tools *tool.Registry) (*Engine, store.Store, *syncBuffer) {
	t.Helper()
	src := "id: t\nname: T\nagent_config:\n  runtime:\n    api_key: k\n" + runtimeYAML +
		"  llms:\n    default: scripted/demo\n  context:\n" + contextYAML
	m, err := manifest.Parse([]byte(src), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	logs := &syncBuffer{}
	st := memory.New()
	e, err := New(Config{
		Manifest:      m,
		Store:         st,
		Chat:          chat,
		Evaluation:    eval,
		Tools:         tools,
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		LeaseTTL:      time.Second,
		SweepInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return e, st, logs
}

// converse opens a session, posts text and waits for the turn's status
// ready. It returns the session id and its events.
func converse(t *testing.T, e *Engine, st store.Store, text string) (string, []store.Event) {
	t.Helper()
	s, _, err := e.OpenSession(context.Background(), OpenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return s.ID, say(t, e, st, s.ID, text, 1)
}

// say posts a customer message and waits until the session has ready
// statuses in all.
func say(t *testing.T, e *Engine, st store.Store, sid, text string, ready int) []store.Event {
	t.Helper()
	if _, err := e.PostMessage(context.Background(), sid, Message{Text: text}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := st.ListEvents(context.Background(), sid, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if p, _ := DecodePayload(ev); ev.Kind == KindStatus && p.Status == StatusReady {
				n++
			}
		}
		if n >= ready {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d ready statuses within 10s, want %d", n, ready)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const twoPolicies = `    policies:
      - id: refund
        condition: The customer asks for a refund
        action: Ask for the order number.
        criticality: HIGH
      - id: tone
        condition: The customer is upset
        action: Apologise once.
        criticality: LOW
`

const chatEcho = `- reply: {text: "You said: {{.LastUser}}"}`

func TestPolicyBatchesRunInParallel(t *testing.T) {
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "id: refund"}
  reply: {json: {matches: [{id: refund, applies: true, reason: asks for money back}]}}
- when: {lane: evaluation, user_matches: "id: tone"}
  reply: {json: {matches: [{id: tone, applies: true, reason: angry}]}}
`)
	eval.barrier, eval.met, eval.barrierT = 2, make(chan struct{}), t
	chat := scriptedModel(t, "chat", chatEcho)
	e, st, _ := policyEngine(t, "    policy_batch_size: 1\n", twoPolicies, chat, eval, nil)

	converse(t, e, st, "I want a refund, this is awful")

	if n := eval.count(); n != 2 {
		t.Errorf("%d evaluation calls, want 2 (one per batch of one condition)", n)
	}
	sys := chat.systemText(t, 0)
	high := strings.Index(sys, "[HIGH] Ask for the order number.")
	low := strings.Index(sys, "[LOW] Apologise once.")
	if high < 0 || low < 0 {
		t.Fatalf("system message lacks a matched rule:\n%s", sys)
	}
	if high > low {
		t.Errorf("HIGH rule after LOW rule:\n%s", sys)
	}
}

func TestPolicyMatchInvalidAnswers(t *testing.T) {
	cases := []struct {
		name, script string
		calls        int
		match        bool
	}{
		{"not JSON", `- when: {lane: evaluation}
  reply: {text: "Yes, the refund condition applies."}`, 2, false},
		{"unknown id", `- when: {lane: evaluation}
  reply: {json: {matches: [{id: ghost, applies: true}]}}`, 2, false},
		{"repaired", `- when: {lane: evaluation, user_matches: "not valid"}
  reply: {json: {matches: [{id: refund, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: [{id: ghost, applies: true}]}}`, 2, true},
		{"no match", `- when: {lane: evaluation}
  reply: {json: {matches: [{id: refund, applies: false, reason: no refund asked}]}}`, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eval := scriptedModel(t, "evaluation", tc.script)
			chat := scriptedModel(t, "chat", chatEcho)
			policies := "    policies:\n      - {id: refund, condition: The customer asks for a refund, action: Ask for the order number.}\n"
			e, st, logs := policyEngine(t, "", policies, chat, eval, nil)

			sid, evs := converse(t, e, st, "refund please")

			if n := countKind(evs, KindAgentMessage); n != 1 {
				t.Errorf("%d agent messages, want 1: the turn goes on", n)
			}
			if n := eval.count(); n != tc.calls {
				t.Errorf("%d evaluation calls, want %d", n, tc.calls)
			}
			sys := chat.systemText(t, 0)
			if got := strings.Contains(sys, "Ask for the order number."); got != tc.match {
				t.Errorf("rule in system message = %v, want %v:\n%s", got, tc.match, sys)
			}
			warned := strings.Contains(logs.String(), "policy match reply invalid after a repair")
			if wantWarn := tc.calls == 2 && !tc.match; warned != wantWarn {
				t.Errorf("warning logged = %v, want %v; logs:\n%s", warned, wantWarn, logs)
			}
			if warned && !strings.Contains(logs.String(), "session_id="+sid) {
				t.Errorf("warning lacks session_id=%s; logs:\n%s", sid, logs)
			}
			if warned && !strings.Contains(logs.String(), "turn_id=trn_") {
				t.Errorf("warning lacks the turn id; logs:\n%s", logs)
			}
		})
	}
}

func TestPolicyResolveRelationships(t *testing.T) {
	m := &manifest.Manifest{AgentConfig: manifest.AgentConfig{Context: manifest.Context{
		Policies: []manifest.Policy{
			{ID: "a", Criticality: "LOW"}, {ID: "b", Criticality: "MEDIUM"},
			{ID: "c", Criticality: "HIGH"}, {ID: "d", Criticality: "HIGH"}, {ID: "e", Criticality: "MEDIUM"},
		},
		Relationships: manifest.Relationships{
			Entailments: []manifest.Entailment{{Source: "a", Target: "b"}, {Source: "b", Target: "c"}},
			Priorities: []manifest.Priority{
				{Higher: "c", Over: "d"}, {Higher: "e", Over: "a"}, {Higher: "a", OverAllRoutines: true},
			},
		},
	}}}
	ps := newPolicySet(m)
	cases := []struct {
		name    string
		matched []string
		want    string
	}{
		{"entailment chain", []string{"a"}, "c b a"},
		{"entailed policy outranks", []string{"a", "d"}, "c b a"},
		{"higher wins", []string{"e", "a"}, "c b e"},
		{"lower alone", []string{"d"}, "d"},
		{"none", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reasons := map[string]string{}
			for _, id := range tc.matched {
				reasons[id] = "matched"
			}
			var got []string
			for _, mp := range ps.resolve(reasons) {
				got = append(got, mp.policy.ID)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("resolve(%v) = %v, want %s", tc.matched, got, tc.want)
			}
		})
	}
	if !ps.overAllRoutines["a"] {
		t.Error("over_all_routines of a not recorded")
	}
}

func TestPolicyEntailedReason(t *testing.T) {
	m := &manifest.Manifest{AgentConfig: manifest.AgentConfig{Context: manifest.Context{
		Policies:      []manifest.Policy{{ID: "a"}, {ID: "b"}},
		Relationships: manifest.Relationships{Entailments: []manifest.Entailment{{Source: "a", Target: "b"}}},
	}}}
	got := newPolicySet(m).resolve(map[string]string{"a": "asked"})
	if len(got) != 2 || got[1].reason != "entailed by a" {
		t.Errorf("resolve = %+v, want b entailed by a", got)
	}
}

func TestPolicyMatchRerunsAfterTools(t *testing.T) {
	lookup, err := tool.Func("shop:lookup", "Look up an order.", func(context.Context, struct{}) (map[string]any, error) {
		return map[string]any{"status": "lost"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := tool.NewRegistry(lookup)
	if err != nil {
		t.Fatal(err)
	}
	// The lost-parcel policy holds only once the lookup's result is in
	// the conversation.
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "returned: .*lost"}
  reply: {json: {matches: [{id: lost, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: [{id: lost, applies: false}]}}
`)
	chat := scriptedModel(t, "chat", `
- when: {after_tool: shop:lookup}
  reply: {text: "Your parcel is lost."}
- reply: {tool_call: {name: shop:lookup, arguments: {}}}
`)
	policies := "    policies:\n      - {id: lost, condition: The order is lost, action: Offer a replacement.}\n"
	e, st, _ := policyEngine(t, "", policies, chat, eval, reg)

	converse(t, e, st, "where is my order?")

	if n := eval.count(); n != 2 {
		t.Errorf("%d evaluation calls, want 2: before the first round and after the tool round", n)
	}
	if sys := chat.systemText(t, 0); strings.Contains(sys, "Offer a replacement.") {
		t.Errorf("first round has the rule before the tool ran:\n%s", sys)
	}
	if sys := chat.systemText(t, 1); !strings.Contains(sys, "Offer a replacement.") {
		t.Errorf("second round lacks the rule after the tool ran:\n%s", sys)
	}
}
