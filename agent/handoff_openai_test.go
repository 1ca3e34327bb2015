package agent

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// handoffProviderName is built-in:handoff as the provider receives it.
const handoffProviderName = "built-in__handoff"

// handoffReply plays a chat model that hands off when it is offered the
// handoff tool and the customer's last message contains trigger, and
// otherwise repeats a preceding tool result or the customer's message.
func handoffReply(trigger string, arguments any) func(wireRequest) map[string]any {
	return func(req wireRequest) map[string]any {
		last := req.last()
		switch {
		case last["role"] == "tool":
			return textCompletion("Tool returned: " + contentText(last))
		case req.offers(handoffProviderName) && strings.Contains(contentText(last), trigger):
			return callCompletion("call_handoff_1", handoffProviderName, arguments)
		}
		return textCompletion("You said: " + contentText(last))
	}
}

// noJudge fails the test on any evaluation-lane request.
func noJudge(t *testing.T) func(id, lastCustomer string) bool {
	return func(id, _ string) bool {
		t.Errorf("unexpected evaluation request for condition %q", id)
		return false
	}
}

// checkHandedOff checks the events of a turn that ended with a handoff
// whose model call had id callID and the given reason: the call, its
// result, a mode event, then cancelled and ready, and no agent message.
func checkHandedOff(t *testing.T, evs []store.Event, callID, reason string) {
	t.Helper()
	var got []string
	var call, result, mode Payload
	for _, ev := range evs {
		p, err := DecodePayload(ev)
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case KindStatus:
			got = append(got, ev.Kind+":"+p.Status)
			continue
		case KindToolCall:
			call = p
		case KindToolResult:
			result = p
		case KindMode:
			mode = p
		}
		got = append(got, ev.Kind)
	}

	want := "user_message status:acknowledged status:processing status:typing tool_call tool_result mode status:cancelled status:ready"
	if strings.Join(got, " ") != want {
		t.Errorf("events:\n %s\nwant\n %s", strings.Join(got, " "), want)
	}

	if call.Tool != "built-in:handoff" {
		t.Errorf("tool_call tool = %q, want built-in:handoff, mapped back from %s", call.Tool, handoffProviderName)
	}
	if call.CallID != callID {
		t.Errorf("tool_call id = %q, want the model's %q", call.CallID, callID)
	}
	var args map[string]any
	if err := json.Unmarshal(call.Arguments, &args); err != nil || args["reason"] != reason {
		t.Errorf("tool_call arguments = %s, want reason %q", call.Arguments, reason)
	}

	if result.CallID != callID || result.Error != nil {
		t.Errorf("tool_result = call %q error %+v, want call %q without error", result.CallID, result.Error, callID)
	}
	var res map[string]any
	if err := json.Unmarshal(result.Result, &res); err != nil || res["mode"] != store.ModeManual {
		t.Errorf("tool_result result = %s, want mode manual", result.Result)
	}

	if mode.Mode != store.ModeManual {
		t.Errorf("mode event mode = %q, want %q", mode.Mode, store.ModeManual)
	}
	if mode.Reason != "handoff: "+reason {
		t.Errorf("mode event reason = %q, want %q", mode.Reason, "handoff: "+reason)
	}
	if n := countKind(evs, KindAgentMessage); n != 0 {
		t.Errorf("%d agent messages, want none after a handoff", n)
	}
}

// waitProcessed waits until the session has no unanswered message.
func waitProcessed(t *testing.T, st store.Store, sid string) store.Session {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, err := st.GetSession(context.Background(), sid)
		if err != nil {
			t.Fatal(err)
		}
		if !s.NeedsTurn() {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s still has an unanswered message after 5s: trigger %d, processed %d", sid, s.TriggerOffset, s.ProcessedOffset)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHandoffOpenAISwitchesToManual(t *testing.T) {
	reason := "the customer asked for a human"
	srv := newCompletionServer(t, noJudge(t), handoffReply("human", map[string]any{"reason": reason}))
	chat, eval := srv.lanes(t)
	e, st, logs := policyEngine(t, "", "    handoff: true\n", chat, eval, nil)
	ctx := context.Background()

	sid, evs := converse(t, e, st, "let me talk to a human")

	checkHandedOff(t, evs, "call_handoff_1", reason)
	chats := srv.chatRequests()
	if len(chats) != 1 {
		t.Fatalf("%d chat requests, want 1: the handoff ends the turn without another round", len(chats))
	}
	if !slices.Equal(chats[0].tools, []string{handoffProviderName}) {
		t.Errorf("offered tools %v, want [%s]", chats[0].tools, handoffProviderName)
	}
	if got, want := roleSequence(chats[0]), "system user"; got != want {
		t.Errorf("roles = %q, want %q", got, want)
	}
	sess, err := st.GetSession(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Mode != store.ModeManual {
		t.Errorf("session mode %q, want manual", sess.Mode)
	}
	if !strings.Contains(logs.String(), "session handed to a human") {
		t.Errorf("handoff not logged; logs:\n%s", logs)
	}

	// A customer message in manual mode is left to the human: it starts
	// no turn, so no provider request is made and nothing is appended.
	before := len(evs)
	if _, err := e.PostMessage(ctx, sid, Message{Text: "hello?"}); err != nil {
		t.Fatal(err)
	}
	sess = waitProcessed(t, st, sid)
	evs, err = st.ListEvents(ctx, sid, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sess.TriggerOffset >= evs[before].Offset {
		t.Errorf("trigger offset %d, want below the manual-mode message at %d", sess.TriggerOffset, evs[before].Offset)
	}
	if got := kinds(evs, before); got != "user_message" {
		t.Errorf("events after the message in manual mode = %q, want only the user_message", got)
	}
	if n := len(srv.chatRequests()); n != 1 {
		t.Errorf("%d chat requests after the message in manual mode, want still 1", n)
	}
}

func TestHandoffOpenAIGuidedPolicyTool(t *testing.T) {
	policies := `    policies:
      - {id: human, condition: The customer asks for a person, action: Hand the conversation to a person., tools: [built-in:handoff]}
`
	judge := func(id, lastCustomer string) bool {
		return id == "human" && strings.Contains(lastCustomer, "person")
	}
	reason := "the customer asked for a person"
	srv := newCompletionServer(t, judge, handoffReply("person", map[string]any{"reason": reason}))
	chat, eval := srv.lanes(t)
	e, st, _ := policyEngine(t, "    tool_access: guided\n", policies, chat, eval, shopRegistry(t))
	ctx := context.Background()

	// Without the policy, guided access offers no tool at all.
	quiet, evs := converse(t, e, st, "where is my parcel?")
	if n := countKind(evs, KindAgentMessage); n != 1 {
		t.Errorf("%d agent messages without the policy, want 1", n)
	}
	if n := countKind(evs, KindMode); n != 0 {
		t.Errorf("%d mode events without the policy, want none", n)
	}
	chats := srv.chatRequests()
	if len(chats) != 1 {
		t.Fatalf("%d chat requests, want 1", len(chats))
	}
	if len(chats[0].tools) != 0 {
		t.Errorf("offered tools %v without a matched policy, want none", chats[0].tools)
	}
	quietSession, err := st.GetSession(ctx, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if quietSession.Mode != store.ModeAuto {
		t.Errorf("session mode %q without the policy, want auto", quietSession.Mode)
	}

	// The policy matches, so its tool is offered, and the model hands off.
	sid, evs := converse(t, e, st, "I want to speak to a person")

	checkHandedOff(t, evs, "call_handoff_1", reason)
	judged := srv.judgeRequests()
	if len(judged) != 2 {
		t.Fatalf("%d evaluation requests, want 2: one policy match per turn", len(judged))
	}
	if !slices.Equal(judged[1].ids, []string{"human"}) || judged[1].conditions["human"] != "The customer asks for a person" {
		t.Errorf("evaluation request = ids %v conditions %v, want the human policy", judged[1].ids, judged[1].conditions)
	}
	chats = srv.chatRequests()
	if len(chats) != 2 {
		t.Fatalf("%d chat requests, want 2", len(chats))
	}
	if !slices.Equal(chats[1].tools, []string{handoffProviderName}) {
		t.Errorf("offered tools %v, want only %s: guided access offers the matched policy's tools", chats[1].tools, handoffProviderName)
	}
	if sys := chats[1].system(); !strings.Contains(sys, "[MEDIUM] Hand the conversation to a person.") {
		t.Errorf("system message lacks the policy's rule:\n%s", sys)
	}
	sess, err := st.GetSession(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Mode != store.ModeManual {
		t.Errorf("session mode %q after the handoff, want manual", sess.Mode)
	}
}

func TestHandoffOpenAIInvalidReasonStaysAuto(t *testing.T) {
	srv := newCompletionServer(t, noJudge(t), handoffReply("human", map[string]any{"reason": ""}))
	chat, eval := srv.lanes(t)
	e, st, _ := policyEngine(t, "", "    handoff: true\n", chat, eval, nil)

	sid, evs := converse(t, e, st, "a human, please")

	if n := countKind(evs, KindMode); n != 0 {
		t.Errorf("%d mode events, want none: an empty reason is invalid", n)
	}
	if got, want := kinds(evs, 0), "user_message tool_call tool_result agent_message"; got != want {
		t.Errorf("event kinds = %q, want %q", got, want)
	}
	for _, ev := range evs {
		if ev.Kind != KindToolResult {
			continue
		}
		p, _ := DecodePayload(ev)
		if p.Error == nil || p.Error.Code != ToolErrorArgs {
			t.Errorf("tool_result error = %+v, want code %s", p.Error, ToolErrorArgs)
		}
	}
	sess, err := st.GetSession(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Mode != store.ModeAuto {
		t.Errorf("session mode %q, want auto", sess.Mode)
	}

	// The model receives the failed call and its result as one pair.
	chats := srv.chatRequests()
	if len(chats) != 2 {
		t.Fatalf("%d chat requests, want 2: the rejected call, then the reply", len(chats))
	}
	pairs := toolPairs(t, chats[1])
	if len(pairs) != 1 {
		t.Fatalf("second request contains %d tool call pairs, want 1", len(pairs))
	}
	if pairs[0].id != "call_handoff_1" || pairs[0].name != handoffProviderName {
		t.Errorf("pair = %s %s, want call_handoff_1 %s", pairs[0].id, pairs[0].name, handoffProviderName)
	}
	if !strings.HasPrefix(pairs[0].result, "The tool call failed ("+ToolErrorArgs+")") {
		t.Errorf("tool result = %q, want the stated failure", pairs[0].result)
	}
	if got, want := roleSequence(chats[1]), "system user assistant tool"; got != want {
		t.Errorf("roles = %q, want %q", got, want)
	}
}
