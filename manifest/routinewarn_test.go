package manifest

import (
	"strings"
	"testing"
)

func TestRoutineWarningsNone(t *testing.T) {
	m := parseOK(t, routinesYAML(refundRoutine))
	if len(m.Warnings) != 0 {
		t.Errorf("Warnings = %q, want none for a routine with conditions and every node reached", m.Warnings)
	}
}

func TestRoutineWarnings(t *testing.T) {
	routine := `      - id: quiet
        entry: ask
        nodes:
          - id: ask
            chat_state: Ask for the order number.
          - id: orphan
            chat_state: Never reached.
`
	m := parseOK(t, routinesYAML(routine))
	if len(m.Warnings) != 2 {
		t.Fatalf("Warnings = %q, want 2", m.Warnings)
	}
	if w := m.Warnings[0]; !strings.Contains(w, `routine "quiet" has no conditions`) || !strings.Contains(w, "agent_config.context.routines[0]") {
		t.Errorf("first warning = %q, want the missing conditions at the routine's path", w)
	}
	if w := m.Warnings[1]; !strings.Contains(w, `node "orphan"`) || !strings.Contains(w, "never runs") {
		t.Errorf("second warning = %q, want the unreachable node", w)
	}
}

func TestRoutineWarningsRouteCycle(t *testing.T) {
	routine := `      - id: spin
        conditions: [The customer wants to spin]
        entry: a
        nodes:
          - id: a
            transitions:
              - to: b
          - id: b
            transitions:
              - to: c
                condition: The customer is done
              - to: a
          - id: c
            chat_state: Say goodbye.
            transitions:
              - to: d
          - id: d
            transitions:
              - to: c
`
	m := parseOK(t, routinesYAML(routine))
	if len(m.Warnings) != 1 {
		t.Fatalf("Warnings = %q, want 1: the cycle c -> d -> c has a chat node", m.Warnings)
	}
	w := m.Warnings[0]
	if !strings.Contains(w, `route nodes "a", "b" of routine "spin" form a cycle`) {
		t.Errorf("warning = %q, want the route nodes a and b", w)
	}
	if !strings.Contains(w, "agent_config.context.routines[0]") {
		t.Errorf("warning = %q, want the routine's path", w)
	}
}
