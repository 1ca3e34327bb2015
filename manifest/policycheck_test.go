package manifest

import (
	"strings"
	"testing"
)

func TestPolicyUnknownIDListsValidOnly(t *testing.T) {
	src := contextYAML(`    policies:
      - {id: a, condition: a holds, action: Do a.}
      - {id: "bad id", condition: c, action: Do x.}
      - {id: b, condition: b holds, action: Do b.}
    relationships:
      priorities:
        - {higher: ghost, over: a}
`)
	got := findViolation(t, violations(t, src), "agent_config.context.relationships.priorities[0].higher")
	if want := `no policy with id "ghost"; use one of: a, b`; !strings.HasSuffix(got.Message, want) {
		t.Errorf("message = %q, want it to end with %q", got.Message, want)
	}
}

func TestPolicyUnknownIDNoValidIDs(t *testing.T) {
	src := contextYAML(`    policies:
      - {id: "bad id", condition: c, action: Do x.}
    relationships:
      entailments:
        - {source: "bad id", target: ghost}
`)
	got := findViolation(t, violations(t, src), "agent_config.context.relationships.entailments[0].target")
	if !strings.Contains(got.Message, "declares no valid id") {
		t.Errorf("message = %q, want it to say that no policy id is valid", got.Message)
	}
}
