package manifest

import (
	"strings"
	"testing"
)

const macroRoutine = `      - id: booking
        conditions: [The customer wants to rent a car]
        entry: ask
        nodes:
          - id: ask
            chat_state: Ask for the pickup city and dates.
            macros: [ask_dates]
`

func TestParseMacros(t *testing.T) {
	src := routinesYAML(macroRoutine) + `    macros:
      - id: ask_dates
        text: Which city and which dates would you like?
        description: Opening question of a booking.
`
	m, err := Parse([]byte(src), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	got := m.AgentConfig.Context.Macro("ask_dates")
	if got == nil {
		t.Fatal("Macro(ask_dates) = nil")
	}
	if got.Text != "Which city and which dates would you like?" {
		t.Errorf("macro text = %q", got.Text)
	}
	if nodes := m.AgentConfig.Context.Routines[0].Nodes; len(nodes[0].Macros) != 1 || nodes[0].Macros[0] != "ask_dates" {
		t.Errorf("node macros = %v, want [ask_dates]", nodes[0].Macros)
	}
	if m.AgentConfig.Context.Macro("nope") != nil {
		t.Error("Macro(nope) found a macro")
	}
}

func TestParseMacroMistakes(t *testing.T) {
	src := routinesYAML(macroRoutine+`          - id: quote
            tools: [cars:quote]
            macros: [ask_dates]
`) + `    macros:
      - id: greet
        text: Hello!
      - id: greet
        text: "  "
      - id: bad id
        text: Hi.
`
	list := violations(t, src)
	cases := []struct{ path, msg string }{
		{"agent_config.context.routines[0].nodes[0].macros[0]", `no macro with id "ask_dates": declare it under context.macros, which declares: bad id, greet`},
		{"agent_config.context.routines[0].nodes[1].macros", "only chat nodes use macros"},
		{"agent_config.context.macros[1].id", `duplicate macro id "greet"`},
		{"agent_config.context.macros[1].text", "must not be empty or only whitespace"},
		{"agent_config.context.macros[2].id", "must contain only letters, digits"},
	}
	for _, tc := range cases {
		v := findViolation(t, list, tc.path)
		if !strings.Contains(v.Message, tc.msg) {
			t.Errorf("%s: message %q lacks %q", tc.path, v.Message, tc.msg)
		}
	}
}
