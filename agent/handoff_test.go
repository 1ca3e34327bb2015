package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/store"
)

func TestHandoffSwitchesToManual(t *testing.T) {
	chat := scriptedModel(t, "chat", `
- when: {tool_offered: built-in:handoff, user_matches: "(?i)human"}
  reply: {tool_call: {name: built-in:handoff, arguments: {reason: the customer asked for a human}}}
- reply: {text: "You said: {{.LastUser}}"}
`)
	e, st, _ := policyEngine(t, "", "    handoff: true\n", chat, nil, nil)
	ctx := context.Background()

	sid, evs := converse(t, e, st, "let me talk to a human")

	var kinds []string
	var mode Payload
	for _, ev := range evs {
		p, _ := DecodePayload(ev)
		switch ev.Kind {
		case KindStatus:
			kinds = append(kinds, ev.Kind+":"+p.Status)
		case KindMode:
			mode = p
			kinds = append(kinds, ev.Kind)
		default:
			kinds = append(kinds, ev.Kind)
		}
	}
	want := "user_message status:acknowledged status:processing status:typing tool_call tool_result mode status:cancelled status:ready"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("events:\n %s\nwant\n %s", got, want)
	}
	if mode.Mode != store.ModeManual || mode.Reason != "handoff: the customer asked for a human" {
		t.Errorf("mode event = %q %q, want manual with the model's reason", mode.Mode, mode.Reason)
	}
	sess, err := st.GetSession(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Mode != store.ModeManual {
		t.Errorf("session mode %q, want manual", sess.Mode)
	}

	// A human answers, then gives the session back to the agent.
	if _, err := e.PostMessage(ctx, sid, Message{Text: "Hi, I am Sam from support.", Source: SourceHumanAgent}); err != nil {
		t.Fatal(err)
	}
	auto := store.ModeAuto
	if _, err := e.UpdateSession(ctx, sid, store.SessionPatch{Mode: &auto}, "back to the agent"); err != nil {
		t.Fatal(err)
	}
	evs = say(t, e, st, sid, "thanks", 2)
	if n := countKind(evs, KindAgentMessage); n != 1 {
		t.Errorf("%d agent messages after the return to auto, want 1", n)
	}
	chat.mu.Lock()
	last := chat.calls[len(chat.calls)-1]
	chat.mu.Unlock()
	found := false
	for _, m := range last {
		if m.Role == llms.ChatMessageTypeAI && textOf(m) == "[human agent] Hi, I am Sam from support." {
			found = true
		}
	}
	if !found {
		t.Errorf("the human agent's message is not in the model's transcript as an agent message marked [human agent]: %s", render(last))
	}
}

func TestHandoffNotOfferedByDefault(t *testing.T) {
	chat := scriptedModel(t, "chat", chatEcho)
	e, st, _ := policyEngine(t, "", "    language: English\n", chat, nil, nil)

	converse(t, e, st, "let me talk to a human")

	chat.mu.Lock()
	defer chat.mu.Unlock()
	for _, tl := range chat.opts[0].Tools {
		if tl.Function != nil && tl.Function.Name == "built-in:handoff" {
			t.Error("built-in:handoff offered without context.handoff or a policy that lists it")
		}
	}
}
