package agent

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// bookingJudge decides the conditions of bookingContext by the newest
// customer line: the routine matches on "rent", the city transition
// holds once Berlin is named, and the routine still applies unless the
// customer mentions the weather.
func bookingJudge(id, lastCustomer string) bool {
	switch id {
	case "booking":
		return strings.Contains(lastCustomer, "rent")
	case "to_quote":
		return strings.Contains(lastCustomer, "Berlin")
	case routineApplies:
		return !strings.Contains(lastCustomer, "weather")
	}
	return false
}

// quoteNodePrefix starts the request of the booking routine's tool node.
const quoteNodePrefix = `Node "quote" (tools)`

// isQuoteNodeRequest reports whether req comes from the tool node of the
// booking routine rather than from a reply round.
func isQuoteNodeRequest(req wireRequest) bool {
	for _, m := range req.messages {
		if m["role"] == "user" && strings.HasPrefix(contentText(m), quoteNodePrefix) {
			return true
		}
	}
	return false
}

// bookingReply plays the chat model of the booking routine: at the tool
// node it calls cars__quote for Berlin once and then ends the node, and
// in a reply round it repeats a preceding tool result or the customer's
// last message.
func bookingReply(req wireRequest) map[string]any {
	last := req.last()
	switch {
	case isQuoteNodeRequest(req) && last["role"] == "user":
		return callCompletion("call_quote_1", "cars__quote", map[string]any{"city": "Berlin"})
	case isQuoteNodeRequest(req):
		return textCompletion("Quoted.")
	case last["role"] == "tool":
		return textCompletion("Quote: " + contentText(last))
	}
	return textCompletion("You said: " + contentText(last))
}

// roleSequence returns the roles of the request's messages, joined by
// spaces.
func roleSequence(req wireRequest) string {
	roles := make([]string, len(req.messages))
	for i, m := range req.messages {
		roles[i], _ = m["role"].(string)
	}
	return strings.Join(roles, " ")
}

func TestRoutineOpenAINotActivatedWithoutMatch(t *testing.T) {
	srv := newCompletionServer(t, bookingJudge, bookingReply)
	chat, eval := srv.lanes(t)
	e, st, _ := policyEngine(t, "", bookingContext, chat, eval, (&quoteTool{}).registry(t))

	_, evs := converse(t, e, st, "what are your opening hours?")

	judged := srv.judgeRequests()
	if len(judged) != 1 {
		t.Fatalf("%d evaluation requests, want 1 routine match", len(judged))
	}
	if !slices.Equal(judged[0].ids, []string{"booking"}) {
		t.Errorf("evaluation request ids %v, want [booking]", judged[0].ids)
	}
	if got := routineEvents(t, evs); len(got) != 0 {
		t.Errorf("routine events %v, want none: the condition does not hold", got)
	}
	chats := srv.chatRequests()
	if len(chats) != 1 {
		t.Fatalf("%d chat requests, want 1", len(chats))
	}
	if sys := chats[0].system(); strings.Contains(sys, "Current step") {
		t.Errorf("reply prompt has a routine step without an active routine:\n%s", sys)
	}
}

func TestRoutineOpenAIChatNodeSpansTurns(t *testing.T) {
	q := &quoteTool{}
	srv := newCompletionServer(t, bookingJudge, bookingReply)
	chat, eval := srv.lanes(t)
	e, st, _ := policyEngine(t, "", bookingContext, chat, eval, q.registry(t))

	// Turn 1: the routine's condition holds, so it is entered at ask.
	sid, evs := converse(t, e, st, "I want to rent a car")

	if got, want := strings.Join(routineEvents(t, evs), " "), "booking/ask/entered"; got != want {
		t.Fatalf("routine events after turn 1 = %q, want %q", got, want)
	}
	judged := srv.judgeRequests()
	if len(judged) != 2 {
		t.Fatalf("%d evaluation requests in turn 1, want 2: the routine match, then the transitions of ask", len(judged))
	}
	if !slices.Equal(judged[0].ids, []string{"booking"}) {
		t.Errorf("first evaluation ids %v, want [booking]", judged[0].ids)
	}
	if got := judged[0].conditions["booking"]; got != "The customer wants to rent a car" {
		t.Errorf("condition sent for booking = %q, want the routine's condition", got)
	}
	if got := judged[0].lastCustomer; got != "I want to rent a car" {
		t.Errorf("judged customer line = %q, want the turn's message", got)
	}
	// A node entered in this turn has no reply yet, so the walk does not
	// ask whether the routine still applies.
	if !slices.Equal(judged[1].ids, []string{"to_quote"}) {
		t.Errorf("second evaluation ids %v, want [to_quote]", judged[1].ids)
	}
	if got := judged[1].conditions["to_quote"]; got != "The customer named a pickup city" {
		t.Errorf("condition sent for to_quote = %q, want the transition's condition", got)
	}

	chats := srv.chatRequests()
	if len(chats) != 1 {
		t.Fatalf("%d chat requests in turn 1, want 1 reply round", len(chats))
	}
	sys := chats[0].system()
	for _, want := range []string{`routine "Car booking"`, "Current step (ask): Ask for the pickup city."} {
		if !strings.Contains(sys, want) {
			t.Errorf("turn 1 system message lacks %q:\n%s", want, sys)
		}
	}
	if !slices.Equal(chats[0].tools, []string{"cars__quote"}) {
		t.Errorf("turn 1 offered tools %v, want [cars__quote] under tool_access open", chats[0].tools)
	}
	if got, want := roleSequence(chats[0]), "system user"; got != want {
		t.Errorf("turn 1 roles = %q, want %q", got, want)
	}

	// Turn 2: no city yet, so the walk stays at ask.
	evs = say(t, e, st, sid, "hmm, let me think", 2)

	if got, want := strings.Join(routineEvents(t, evs), " "), "booking/ask/entered"; got != want {
		t.Errorf("routine events after turn 2 = %q, want %q: the chat node spans the second turn", got, want)
	}
	judged = srv.judgeRequests()
	if len(judged) != 3 {
		t.Fatalf("%d evaluation requests after turn 2, want 3: no new routine match while a routine is active", len(judged))
	}
	if !slices.Equal(judged[2].ids, []string{"to_quote", routineApplies}) {
		t.Errorf("turn 2 evaluation ids %v, want [to_quote %s]", judged[2].ids, routineApplies)
	}
	if got := judged[2].lastCustomer; got != "hmm, let me think" {
		t.Errorf("turn 2 judged customer line = %q, want the turn's message", got)
	}
	if !strings.Contains(judged[2].conditions[routineApplies], "The customer wants to rent a car") {
		t.Errorf("routine_applies condition = %q, want the routine's condition in it", judged[2].conditions[routineApplies])
	}

	chats = srv.chatRequests()
	if len(chats) != 2 {
		t.Fatalf("%d chat requests after turn 2, want 2", len(chats))
	}
	if sys := chats[1].system(); !strings.Contains(sys, "Current step (ask): Ask for the pickup city.") {
		t.Errorf("turn 2 system message lacks the ask node:\n%s", sys)
	}
	if got, want := roleSequence(chats[1]), "system user assistant user"; got != want {
		t.Errorf("turn 2 roles = %q, want %q", got, want)
	}
	if got := contentText(chats[1].messages[2]); got != "You said: I want to rent a car" {
		t.Errorf("turn 2 replays agent message %q, want turn 1's reply", got)
	}
	if calls := q.calls(); len(calls) != 0 {
		t.Errorf("cars:quote ran at a chat node: %v", calls)
	}
}

func TestRoutineOpenAIToolNodeCallsGoTool(t *testing.T) {
	q := &quoteTool{}
	srv := newCompletionServer(t, bookingJudge, bookingReply)
	chat, eval := srv.lanes(t)
	e, st, _ := policyEngine(t, "", bookingContext, chat, eval, q.registry(t))

	sid, evs := converse(t, e, st, "I want to rent a car")
	first := len(evs)
	before := len(srv.chatRequests())

	// Turn 2: the city transition holds, the tool node quotes, and the
	// routine completes at offer.
	evs = say(t, e, st, sid, "Berlin", 2)

	want := "booking/ask/entered booking/quote/entered booking/offer/entered booking/offer/completed"
	if got := strings.Join(routineEvents(t, evs), " "); got != want {
		t.Errorf("routine events = %q, want %q", got, want)
	}
	if got, want := kinds(evs, first), "user_message routine tool_call tool_result routine routine agent_message"; got != want {
		t.Errorf("turn 2 event kinds = %q, want %q", got, want)
	}
	if calls := q.calls(); !slices.Equal(calls, []string{"Berlin"}) {
		t.Errorf("cars:quote calls = %v, want [Berlin]", calls)
	}

	var call, result Payload
	for _, ev := range evs[first:] {
		switch ev.Kind {
		case KindToolCall:
			call, _ = DecodePayload(ev)
		case KindToolResult:
			result, _ = DecodePayload(ev)
		}
	}
	if call.Tool != "cars:quote" {
		t.Errorf("tool_call tool = %q, want cars:quote", call.Tool)
	}
	if string(call.Arguments) != `{"city":"Berlin"}` {
		t.Errorf("tool_call arguments = %s, want {\"city\":\"Berlin\"}", call.Arguments)
	}
	if result.CallID == "" || result.CallID != call.CallID {
		t.Errorf("tool_result call id %q, want the tool_call's %q", result.CallID, call.CallID)
	}
	if result.Error != nil {
		t.Errorf("tool_result error = %+v, want none", result.Error)
	}
	var quote map[string]any
	if err := json.Unmarshal(result.Result, &quote); err != nil || quote["city"] != "Berlin" || quote["price_eur"] != 42.0 {
		t.Errorf("tool_result result = %s, want the quote for Berlin at 42 EUR", result.Result)
	}

	chats := srv.chatRequests()[before:]
	if len(chats) != 3 {
		t.Fatalf("%d chat requests in turn 2, want 3: the node's call, the node's end, the reply", len(chats))
	}

	// The tool node offers only its own tool, under its provider name.
	node := chats[0]
	if !isQuoteNodeRequest(node) {
		t.Fatalf("first chat request of turn 2 is not the tool node's:\n%v", node.messages)
	}
	if !slices.Equal(node.tools, []string{"cars__quote"}) {
		t.Errorf("tool node offered %v, want [cars__quote]", node.tools)
	}
	if text := contentText(node.last()); !strings.Contains(text, "Customer: Berlin") {
		t.Errorf("tool node request lacks the conversation:\n%s", text)
	}

	// The executor's next request carries its own call and the result.
	pairs := toolPairs(t, chats[1])
	if len(pairs) != 1 {
		t.Fatalf("node's second request contains %d tool call pairs, want 1", len(pairs))
	}
	if pairs[0].id != "call_quote_1" || pairs[0].name != "cars__quote" || pairs[0].arguments != `{"city":"Berlin"}` {
		t.Errorf("node's pair = %s %s %s, want call_quote_1 cars__quote {\"city\":\"Berlin\"}", pairs[0].id, pairs[0].name, pairs[0].arguments)
	}
	if !strings.Contains(pairs[0].result, `"price_eur":42`) {
		t.Errorf("node's tool result = %q, want the quote", pairs[0].result)
	}

	// The reply round receives the stored call and result right after the
	// customer's message, under the event's call id.
	reply := chats[2]
	if isQuoteNodeRequest(reply) {
		t.Fatalf("third chat request of turn 2 is not a reply round:\n%v", reply.messages)
	}
	if got, want := roleSequence(reply), "system user assistant user assistant tool"; got != want {
		t.Errorf("reply roles = %q, want %q", got, want)
	}
	pairs = toolPairs(t, reply)
	if len(pairs) != 1 {
		t.Fatalf("reply request contains %d tool call pairs, want 1", len(pairs))
	}
	if pairs[0].index != 4 {
		t.Errorf("reply's tool call is message %d, want 4, after the customer's Berlin", pairs[0].index)
	}
	if pairs[0].id != call.CallID {
		t.Errorf("reply's tool call id %q, want the tool_call event's %q", pairs[0].id, call.CallID)
	}
	if pairs[0].name != "cars__quote" || pairs[0].arguments != `{"city":"Berlin"}` {
		t.Errorf("reply's tool call = %s %s, want cars__quote {\"city\":\"Berlin\"}", pairs[0].name, pairs[0].arguments)
	}
	if pairs[0].result != string(result.Result) {
		t.Errorf("reply's tool result = %q, want the stored result %s", pairs[0].result, result.Result)
	}
	sys := reply.system()
	for _, want := range []string{"Current step (offer): Present the quote.", "Here is your quote, shall I book it?"} {
		if !strings.Contains(sys, want) {
			t.Errorf("reply system message lacks %q:\n%s", want, sys)
		}
	}
	last := evs[len(evs)-2]
	if p, _ := DecodePayload(last); last.Kind != KindAgentMessage || p.Text != "Quote: "+string(result.Result) {
		t.Errorf("reply = %s %q, want the agent message quoting the tool result", last.Kind, p.Text)
	}

	// Turn 3: the routine has completed, and the history replays the
	// stored pair in the same shape.
	before = len(srv.chatRequests())
	third := len(evs)
	evs = say(t, e, st, sid, "thanks", 3)

	if got := routineEvents(t, evs[third:]); len(got) != 0 {
		t.Errorf("turn 3 routine events %v, want none after completion", got)
	}
	chats = srv.chatRequests()[before:]
	if len(chats) != 1 {
		t.Fatalf("%d chat requests in turn 3, want 1", len(chats))
	}
	if sys := chats[0].system(); strings.Contains(sys, "Current step") {
		t.Errorf("turn 3 system message still has a routine step:\n%s", sys)
	}
	pairs = toolPairs(t, chats[0])
	if len(pairs) != 1 || pairs[0].id != call.CallID || pairs[0].name != "cars__quote" || pairs[0].index != 4 {
		t.Errorf("turn 3 tool call pairs = %+v, want the stored cars__quote call %q at message 4", pairs, call.CallID)
	}
	if got, want := roleSequence(chats[0]), "system user assistant user assistant tool assistant user"; got != want {
		t.Errorf("turn 3 roles = %q, want %q", got, want)
	}
}
