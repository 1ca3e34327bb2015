package agent

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/tool"
)

// quoteTool is cars:quote. When block is set, its first call waits for
// the turn to end and signals started when it begins.
type quoteTool struct {
	mu      sync.Mutex
	cities  []string
	block   bool
	started chan struct{}
}

func (q *quoteTool) registry(t *testing.T) *tool.Registry {
	t.Helper()
	type args struct {
		City string `json:"city"`
	}
	quote, err := tool.Func("cars:quote", "Quote a rental car in a city.", func(ctx context.Context, a args) (map[string]any, error) {
		q.mu.Lock()
		q.cities = append(q.cities, a.City)
		first := len(q.cities) == 1
		q.mu.Unlock()
		if q.block && first {
			close(q.started)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return map[string]any{"city": a.City, "price_eur": 42}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := tool.NewRegistry(quote)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func (q *quoteTool) calls() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.cities...)
}

// bookingContext declares a booking routine: a chat node that asks for
// the city, a tool node that quotes, and a closing chat node with a
// macro.
const bookingContext = `    macros:
      - id: quote_ready
        text: "Here is your quote, shall I book it?"
    routines:
      - id: booking
        title: Car booking
        conditions: [The customer wants to rent a car]
        entry: ask
        nodes:
          - id: ask
            chat_state: Ask for the pickup city.
            transitions:
              - to: quote
                condition: The customer named a pickup city
          - id: quote
            tools: ["cars:quote"]
            tool_instruction: Quote a car in the city the customer named.
            transitions:
              - to: offer
          - id: offer
            chat_state: Present the quote.
            macros: [quote_ready]
`

// bookingEval is the evaluation script of bookingContext: the routine
// matches on "rent", the city transition holds once Berlin was named,
// and the routine still applies unless the customer asks about weather.
const bookingEval = `
- when: {lane: evaluation, user_matches: "id: booking"}
  reply: {json: {matches: [{id: booking, applies: true}]}}
- when: {lane: evaluation, user_matches: "(?s)id: to_quote.*id: routine_applies.*Customer: Berlin"}
  reply: {json: {matches: [{id: to_quote, applies: true}, {id: routine_applies, applies: true}]}}
- when: {lane: evaluation, user_matches: "(?s)id: routine_applies.*Customer: [^\\n]*weather"}
  reply: {json: {matches: [{id: to_quote, applies: false}, {id: routine_applies, applies: false}]}}
- when: {lane: evaluation, user_matches: "id: routine_applies"}
  reply: {json: {matches: [{id: to_quote, applies: false}, {id: routine_applies, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: []}}
`

// bookingChat calls cars:quote at the tool node and replies with the
// quote after it.
const bookingChat = `
- when: {after_tool: "cars:quote"}
  reply: {text: "Quote: {{.ToolResult}}"}
- when: {lane: chat, user_matches: 'Node "quote"'}
  reply: {tool_call: {name: "cars:quote", arguments: {city: Berlin}}}
- reply: {text: "You said: {{.LastUser}}"}
`

// routineEvents returns the routine events of evs as
// "routine_id/node_id/state".
func routineEvents(t *testing.T, evs []store.Event) []string {
	t.Helper()
	var out []string
	for _, ev := range evs {
		if ev.Kind != KindRoutine {
			continue
		}
		p, err := DecodePayload(ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.RoutineID+"/"+p.NodeID+"/"+p.State)
	}
	return out
}

// kinds returns the kinds of evs from offset from on, without status
// events.
func kinds(evs []store.Event, from int) string {
	var out []string
	for _, ev := range evs[from:] {
		if ev.Kind != KindStatus {
			out = append(out, ev.Kind)
		}
	}
	return strings.Join(out, " ")
}

func TestRoutineChatToolCompletion(t *testing.T) {
	q := &quoteTool{}
	eval := scriptedModel(t, "evaluation", bookingEval)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, _ := policyEngine(t, "", bookingContext, chat, eval, q.registry(t))

	sid, evs := converse(t, e, st, "I want to rent a car")
	if got := strings.Join(routineEvents(t, evs), " "); got != "booking/ask/entered" {
		t.Fatalf("routine events after turn 1 = %q, want booking/ask/entered", got)
	}
	if sys := chat.systemText(t, 0); !strings.Contains(sys, "Current step (ask): Ask for the pickup city.") {
		t.Errorf("turn 1 prompt lacks the ask node's chat_state:\n%s", sys)
	}
	if calls := q.calls(); len(calls) != 0 {
		t.Errorf("cars:quote called in turn 1: %v", calls)
	}

	first := len(evs)
	evs = say(t, e, st, sid, "Berlin", 2)
	want := "booking/ask/entered booking/quote/entered booking/offer/entered booking/offer/completed"
	if got := strings.Join(routineEvents(t, evs), " "); got != want {
		t.Errorf("routine events = %q, want %q", got, want)
	}
	if got, want := kinds(evs, first), "user_message routine tool_call tool_result routine routine agent_message"; got != want {
		t.Errorf("turn 2 event kinds = %q, want %q", got, want)
	}
	if calls := q.calls(); len(calls) != 1 || calls[0] != "Berlin" {
		t.Errorf("cars:quote calls = %v, want [Berlin]", calls)
	}
	sys := chat.systemText(t, chat.count()-1)
	for _, want := range []string{"Current step (offer): Present the quote.", "Here is your quote, shall I book it?", `routine "Car booking"`} {
		if !strings.Contains(sys, want) {
			t.Errorf("reply prompt lacks %q:\n%s", want, sys)
		}
	}
	last := evs[len(evs)-2]
	if p, _ := DecodePayload(last); last.Kind != KindAgentMessage || !strings.Contains(p.Text, `"price_eur":42`) {
		t.Errorf("reply = %s %q, want the quote", last.Kind, p.Text)
	}
}

func TestRoutineExitOnSubjectChange(t *testing.T) {
	eval := scriptedModel(t, "evaluation", bookingEval)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, logs := policyEngine(t, "", bookingContext, chat, eval, (&quoteTool{}).registry(t))

	sid, _ := converse(t, e, st, "I want to rent a car")
	evs := say(t, e, st, sid, "what is the weather like?", 2)

	if got, want := strings.Join(routineEvents(t, evs), " "), "booking/ask/entered booking/ask/exited"; got != want {
		t.Errorf("routine events = %q, want %q", got, want)
	}
	if sys := chat.systemText(t, chat.count()-1); strings.Contains(sys, "Current step") {
		t.Errorf("reply after the exit still has a routine step:\n%s", sys)
	}
	if !strings.Contains(logs.String(), "routine exited") {
		t.Errorf("exit not logged; logs:\n%s", logs)
	}
	for _, ev := range evs {
		p, err := DecodePayload(ev)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == KindRoutine && p.State == RoutineExited && p.Reason != "the customer changed the subject" {
			t.Errorf("exited event reason = %q, want the customer changed the subject", p.Reason)
		}
	}
}

func TestRoutineStaysWhileNoTransitionHolds(t *testing.T) {
	eval := scriptedModel(t, "evaluation", bookingEval)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, _ := policyEngine(t, "", bookingContext, chat, eval, (&quoteTool{}).registry(t))

	sid, _ := converse(t, e, st, "I want to rent a car")
	evs := say(t, e, st, sid, "hmm, let me think", 2)

	if got, want := strings.Join(routineEvents(t, evs), " "), "booking/ask/entered"; got != want {
		t.Errorf("routine events = %q, want %q: the chat node spans the second turn", got, want)
	}
	if sys := chat.systemText(t, chat.count()-1); !strings.Contains(sys, "Current step (ask)") {
		t.Errorf("turn 2 prompt lacks the ask node:\n%s", sys)
	}
}

func TestRoutineTwoMatchFirstWins(t *testing.T) {
	ctx := bookingContext + `      - id: support
        conditions: [The customer has a question]
        entry: help
        nodes:
          - id: help
            chat_state: Answer the question.
`
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "id: booking"}
  reply: {json: {matches: [{id: booking, applies: true}, {id: support, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: []}}
`)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, logs := policyEngine(t, "", ctx, chat, eval, (&quoteTool{}).registry(t))

	_, evs := converse(t, e, st, "can I rent a car?")

	if got, want := strings.Join(routineEvents(t, evs), " "), "booking/ask/entered"; got != want {
		t.Errorf("routine events = %q, want %q", got, want)
	}
	if !strings.Contains(logs.String(), "several routines match; entering the first in manifest order") {
		t.Errorf("choice not logged; logs:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "routine_ids=\"[booking support]\"") {
		t.Errorf("log lacks both routine ids; logs:\n%s", logs)
	}
}

func TestRoutinePolicyOverAllRoutines(t *testing.T) {
	ctx := bookingContext + `    policies:
      - {id: abuse, condition: The customer is abusive, action: Stay calm.}
    relationships:
      priorities:
        - {higher: abuse, over_all_routines: true}
`
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "id: abuse"}
  reply: {json: {matches: [{id: abuse, applies: true}]}}
- when: {lane: evaluation, user_matches: "id: booking"}
  reply: {json: {matches: [{id: booking, applies: true}]}}
`)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, logs := policyEngine(t, "", ctx, chat, eval, (&quoteTool{}).registry(t))

	_, evs := converse(t, e, st, "rent me a car, idiot")

	if got := routineEvents(t, evs); len(got) != 0 {
		t.Errorf("routine events = %v, want none: the policy ranks over all routines", got)
	}
	if !strings.Contains(logs.String(), "routine activation blocked") || !strings.Contains(logs.String(), "policy_id=abuse") {
		t.Errorf("block not logged with the policy id; logs:\n%s", logs)
	}
}

// pollContext declares a routine whose tool node waits for a transition
// that never holds.
const pollContext = `    routines:
      - id: poll
        conditions: [The customer wants a quote]
        entry: quote
        nodes:
          - id: quote
            tools: ["cars:quote"]
            transitions:
              - to: done
                condition: The customer paid
          - id: done
            chat_state: Thank the customer.
`

func TestRoutineTransitionNeverHolds(t *testing.T) {
	q := &quoteTool{}
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "id: poll"}
  reply: {json: {matches: [{id: poll, applies: true}]}}
- when: {lane: evaluation, user_matches: "(?s)id: routine_applies.*Customer: something else"}
  reply: {json: {matches: [{id: to_done, applies: false}, {id: routine_applies, applies: false}]}}
- when: {lane: evaluation, user_matches: "id: routine_applies"}
  reply: {json: {matches: [{id: to_done, applies: false}, {id: routine_applies, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: [{id: to_done, applies: false}]}}
`)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, logs := policyEngine(t, "    max_engine_iterations: 3\n", pollContext, chat, eval, q.registry(t))

	sid, evs := converse(t, e, st, "a quote please")
	if n := countKind(evs, KindAgentMessage); n != 1 {
		t.Fatalf("%d agent messages, want 1", n)
	}
	if n := len(q.calls()); n != 1 {
		t.Errorf("cars:quote ran %d times in turn 1, want 1", n)
	}
	if strings.Contains(logs.String(), "routine preparation reached runtime.max_engine_iterations") {
		t.Errorf("turn 1 reached the cap; the walk should rest at the tool node; logs:\n%s", logs)
	}

	evs = say(t, e, st, sid, "hmm", 2)
	if n := len(q.calls()); n != 1 {
		t.Errorf("cars:quote ran %d times after turn 2, want 1: its tools have results", n)
	}
	if got, want := strings.Join(routineEvents(t, evs), " "), "poll/quote/entered"; got != want {
		t.Errorf("routine events after turn 2 = %q, want %q", got, want)
	}

	evs = say(t, e, st, sid, "something else", 3)
	if n := len(q.calls()); n != 1 {
		t.Errorf("cars:quote ran %d times after turn 3, want 1", n)
	}
	if got, want := strings.Join(routineEvents(t, evs), " "), "poll/quote/entered poll/quote/exited"; got != want {
		t.Errorf("routine events after turn 3 = %q, want %q", got, want)
	}
}

func TestRoutineRouteCycleExits(t *testing.T) {
	ctx := `    routines:
      - id: spin
        conditions: [The customer wants to spin]
        entry: a
        nodes:
          - id: a
            transitions:
              - to: b
          - id: b
            transitions:
              - to: a
`
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "(?s)id: spin.*\\nConversation:\\n.*Customer: [^\\n]*spin"}
  reply: {json: {matches: [{id: spin, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: []}}
`)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, logs := policyEngine(t, "    max_engine_iterations: 10\n", ctx, chat, eval, (&quoteTool{}).registry(t))

	sid, evs := converse(t, e, st, "spin please")

	want := "spin/a/entered spin/b/entered spin/b/exited"
	if got := strings.Join(routineEvents(t, evs), " "); got != want {
		t.Errorf("routine events = %q, want %q", got, want)
	}
	var reason string
	for _, ev := range evs {
		if p, err := DecodePayload(ev); err == nil && ev.Kind == KindRoutine && p.State == RoutineExited {
			reason = p.Reason
		}
	}
	if !strings.Contains(reason, "cycle a -> b -> a") {
		t.Errorf("exit reason = %q, want one naming the cycle a -> b -> a", reason)
	}
	if !strings.Contains(logs.String(), "routine transitions form a cycle within one turn") {
		t.Errorf("cycle not logged; logs:\n%s", logs)
	}

	evs = say(t, e, st, sid, "again?", 2)
	if got := strings.Join(routineEvents(t, evs), " "); got != want {
		t.Errorf("routine events after turn 2 = %q, want %q: the exited cycle must not run again", got, want)
	}
}

func TestRoutineToolRoundInterrupted(t *testing.T) {
	q := &quoteTool{block: true, started: make(chan struct{})}
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "id: poll"}
  reply: {json: {matches: [{id: poll, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: [{id: to_done, applies: true}]}}
`)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, _ := policyEngine(t, "", pollContext, chat, eval, q.registry(t))

	s, _, err := e.OpenSession(context.Background(), OpenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.PostMessage(context.Background(), s.ID, Message{Text: "a quote please"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-q.started:
	case <-time.After(5 * time.Second):
		t.Fatal("cars:quote did not start within 5s")
	}
	evs := say(t, e, st, s.ID, "for Munich", 1)

	if n := countKind(evs, KindAgentMessage); n != 1 {
		t.Errorf("%d agent messages, want 1", n)
	}
	if got := statuses(t, evs); strings.Count(strings.Join(got, " "), StatusReady) != 1 {
		t.Errorf("statuses = %v, want one ready", got)
	}
	if n := len(q.calls()); n != 2 {
		t.Errorf("cars:quote ran %d times, want 2: once cancelled, once after the restart", n)
	}
	want := "poll/quote/entered poll/done/entered poll/done/completed"
	if got := strings.Join(routineEvents(t, evs), " "); got != want {
		t.Errorf("routine events = %q, want %q", got, want)
	}
	// The restarted tool node sees both messages.
	found := false
	chat.mu.Lock()
	for _, msgs := range chat.calls {
		text := render(msgs)
		if strings.Contains(text, `Node "quote"`) && strings.Contains(text, "a quote please") && strings.Contains(text, "for Munich") {
			found = true
		}
	}
	chat.mu.Unlock()
	if !found {
		t.Error("no tool node call after the restart shows both customer messages")
	}
}

// twoToolContext declares a routine whose tool node runs cars:search and
// then cars:quote.
const twoToolContext = `    routines:
      - id: poll
        conditions: [The customer wants a quote]
        entry: quote
        nodes:
          - id: quote
            tools: ["cars:search", "cars:quote"]
            transitions:
              - to: done
                condition: The customer paid
          - id: done
            chat_state: Thank the customer.
`

// twoToolChat calls cars:search, then cars:quote, then replies.
const twoToolChat = `
- when: {after_tool: "cars:quote"}
  reply: {text: "Quote: {{.ToolResult}}"}
- when: {after_tool: "cars:search"}
  reply: {tool_call: {name: "cars:quote", arguments: {city: Berlin}}}
- when: {lane: chat, user_matches: 'Node "quote"'}
  reply: {tool_call: {name: "cars:search", arguments: {}}}
- reply: {text: "You said: {{.LastUser}}"}
`

// registryWithSearch returns the registry of q with cars:search added,
// which counts its calls in searches.
func registryWithSearch(t *testing.T, q *quoteTool, searches *atomic.Int32) *tool.Registry {
	t.Helper()
	search := tool.MustFunc("cars:search", "Search rental cars.", func(context.Context, struct{}) (string, error) {
		searches.Add(1)
		return "LIS-1", nil
	})
	reg := q.registry(t)
	if err := reg.Add(search); err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestRoutineToolNodeInterruptedPartWay(t *testing.T) {
	q := &quoteTool{block: true, started: make(chan struct{})}
	var searches atomic.Int32
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "id: poll"}
  reply: {json: {matches: [{id: poll, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: [{id: to_done, applies: true}]}}
`)
	chat := scriptedModel(t, "chat", twoToolChat)
	e, st, _ := policyEngine(t, "", twoToolContext, chat, eval, registryWithSearch(t, q, &searches))

	s, _, err := e.OpenSession(context.Background(), OpenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.PostMessage(context.Background(), s.ID, Message{Text: "a quote please"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-q.started:
	case <-time.After(5 * time.Second):
		t.Fatal("cars:quote did not start within 5s")
	}
	evs := say(t, e, st, s.ID, "for Munich", 1)

	if n := len(q.calls()); n != 2 {
		t.Errorf("cars:quote ran %d times, want 2: the interrupted call runs again", n)
	}
	if n := searches.Load(); n < 1 {
		t.Errorf("cars:search ran %d times, want at least 1", n)
	}
	if got := toolErrorCodes(t, evs, "cars:quote"); len(got) != 2 || got[0] != ToolErrorTimeout || got[1] != "" {
		t.Errorf("cars:quote result error codes = %v, want [timeout \"\"]", got)
	}
	want := "poll/quote/entered poll/done/entered poll/done/completed"
	if got := strings.Join(routineEvents(t, evs), " "); got != want {
		t.Errorf("routine events = %q, want %q", got, want)
	}
}

func TestRoutineCompletedNotReentered(t *testing.T) {
	ctx := `    routines:
      - id: rent
        conditions: [The customer wants to rent a car]
        entry: offer
        nodes:
          - id: offer
            chat_state: Offer a car.
`
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "(?s)id: rent.*\\nConversation:\\n.*Customer: [^\\n]*rent"}
  reply: {json: {matches: [{id: rent, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: []}}
`)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, _ := policyEngine(t, "", ctx, chat, eval, (&quoteTool{}).registry(t))

	sid, evs := converse(t, e, st, "I want to rent a car")
	if got, want := strings.Join(routineEvents(t, evs), " "), "rent/offer/entered rent/offer/completed"; got != want {
		t.Fatalf("routine events after turn 1 = %q, want %q", got, want)
	}
	evs = say(t, e, st, sid, "thanks", 2)
	if got, want := strings.Join(routineEvents(t, evs), " "), "rent/offer/entered rent/offer/completed"; got != want {
		t.Errorf("routine events after turn 2 = %q, want %q: the earlier request must not start it again", got, want)
	}
	evs = say(t, e, st, sid, "now I want to rent a van", 3)
	want := "rent/offer/entered rent/offer/completed rent/offer/entered rent/offer/completed"
	if got := strings.Join(routineEvents(t, evs), " "); got != want {
		t.Errorf("routine events after turn 3 = %q, want %q: a new request starts it again", got, want)
	}
}

func TestRoutineFirstMatchKeepsTurn(t *testing.T) {
	ctx := `    routines:
      - id: first
        conditions: [The customer says hello]
        entry: a
        nodes:
          - id: a
            chat_state: Greet as the first routine.
      - id: second
        conditions: [The customer says hello]
        entry: b
        nodes:
          - id: b
            chat_state: Greet as the second routine.
`
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "(?s)id: first.*id: second"}
  reply: {json: {matches: [{id: first, applies: true}, {id: second, applies: true}]}}
- when: {lane: evaluation, user_matches: "id: second"}
  reply: {json: {matches: [{id: second, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: []}}
`)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, _ := policyEngine(t, "", ctx, chat, eval, (&quoteTool{}).registry(t))

	_, evs := converse(t, e, st, "hello")

	if got, want := strings.Join(routineEvents(t, evs), " "), "first/a/entered first/a/completed"; got != want {
		t.Errorf("routine events = %q, want %q", got, want)
	}
	sys := chat.systemText(t, chat.count()-1)
	if !strings.Contains(sys, "Greet as the first routine.") {
		t.Errorf("reply prompt lacks the first routine's chat_state:\n%s", sys)
	}
	if strings.Contains(sys, "Greet as the second routine.") {
		t.Errorf("reply prompt has the second routine's chat_state:\n%s", sys)
	}
}

func TestRoutineEventsKeptOnHandoff(t *testing.T) {
	chat := scriptedModel(t, "chat", `
- when: {tool_offered: built-in:handoff, user_matches: "(?i)human"}
  reply: {tool_call: {name: built-in:handoff, arguments: {reason: the customer asked for a human}}}
- reply: {text: "You said: {{.LastUser}}"}
`)
	eval := scriptedModel(t, "evaluation", bookingEval)
	e, st, _ := policyEngine(t, "", "    handoff: true\n"+bookingContext, chat, eval, (&quoteTool{}).registry(t))

	_, evs := converse(t, e, st, "I want to rent a car, from a human")

	if n := countKind(evs, KindMode); n != 1 {
		t.Fatalf("%d mode events, want 1: the turn ends with the handoff", n)
	}
	if got, want := strings.Join(routineEvents(t, evs), " "), "booking/ask/entered"; got != want {
		t.Errorf("routine events = %q, want %q", got, want)
	}
}

func TestRoutineRestartJudgesNewRunOnly(t *testing.T) {
	ctx := `    routines:
      - id: flow
        conditions: [The customer asks for the flow]
        entry: ask
        nodes:
          - id: ask
            chat_state: Ask for the go-ahead.
            transitions:
              - to: work
                condition: The customer gives the go-ahead
          - id: work
            chat_state: Confirm the work.
`
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "(?s)id: flow.*\\nConversation:\\n.*Customer: [^\\n]*FLOW"}
  reply: {json: {matches: [{id: flow, applies: true}]}}
- when: {lane: evaluation, user_matches: "(?s)id: to_work.*Customer: [^\\n]*GO"}
  reply: {json: {matches: [{id: to_work, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: []}}
`)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, _ := policyEngine(t, "", ctx, chat, eval, (&quoteTool{}).registry(t))

	sid, _ := converse(t, e, st, "FLOW please")
	evs := say(t, e, st, sid, "GO", 2)
	first := "flow/ask/entered flow/work/entered flow/work/completed"
	if got := strings.Join(routineEvents(t, evs), " "); got != first {
		t.Fatalf("routine events after turn 2 = %q, want %q", got, first)
	}
	evs = say(t, e, st, sid, "FLOW again please", 3)
	want := first + " flow/ask/entered"
	if got := strings.Join(routineEvents(t, evs), " "); got != want {
		t.Errorf("routine events after turn 3 = %q, want %q: the go-ahead of the first run must not count", got, want)
	}
	evs = say(t, e, st, sid, "GO", 4)
	want += " flow/work/entered flow/work/completed"
	if got := strings.Join(routineEvents(t, evs), " "); got != want {
		t.Errorf("routine events after turn 4 = %q, want %q: a new go-ahead moves the new run", got, want)
	}
}

func TestRoutineTieLoserNotStartedLater(t *testing.T) {
	ctx := `    routines:
      - id: twoA
        conditions: [The customer says BOTH]
        entry: a
        nodes:
          - id: a
            chat_state: Answer as routine A.
      - id: twoB
        conditions: [The customer says BOTH]
        entry: b
        nodes:
          - id: b
            chat_state: Answer as routine B.
`
	eval := scriptedModel(t, "evaluation", `
- when: {lane: evaluation, user_matches: "(?s)id: twoA.*id: twoB.*\\nConversation:\\n.*Customer: [^\\n]*BOTH"}
  reply: {json: {matches: [{id: twoA, applies: true}, {id: twoB, applies: true}]}}
- when: {lane: evaluation, user_matches: "(?s)id: twoB.*\\nConversation:\\n.*Customer: [^\\n]*BOTH"}
  reply: {json: {matches: [{id: twoB, applies: true}]}}
- when: {lane: evaluation}
  reply: {json: {matches: []}}
`)
	chat := scriptedModel(t, "chat", bookingChat)
	e, st, _ := policyEngine(t, "", ctx, chat, eval, (&quoteTool{}).registry(t))

	sid, evs := converse(t, e, st, "BOTH")
	first := "twoA/a/entered twoA/a/completed"
	if got := strings.Join(routineEvents(t, evs), " "); got != first {
		t.Fatalf("routine events after turn 1 = %q, want %q", got, first)
	}
	evs = say(t, e, st, sid, "ok thanks", 2)
	if got := strings.Join(routineEvents(t, evs), " "); got != first {
		t.Errorf("routine events after turn 2 = %q, want %q: a message that an earlier turn answered must start nothing", got, first)
	}
	evs = say(t, e, st, sid, "BOTH again", 3)
	want := first + " twoA/a/entered twoA/a/completed"
	if got := strings.Join(routineEvents(t, evs), " "); got != want {
		t.Errorf("routine events after turn 3 = %q, want %q", got, want)
	}
}
