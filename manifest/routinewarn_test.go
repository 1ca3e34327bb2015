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
