package manifest

import (
	"strings"
	"testing"
)

func TestParseRoutineMistakes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "routines/kyc.yaml", `id: kyc
entry: check
autonomous:
  input_schema: {type: objct}
  output_schema: {type: object}
  callback_url: https://hooks.evil.example/cb
  callback_url_allowlist: ["*.bank.example"]
nodes:
  - id: check
    think: Is the customer verified?
    output_schema: {type: object}
    transitions:
      - to: done
        condition: verified
  - id: done
    tools: [crm:save]
  - id: done
    chat_state: Bye.
`)
	src := routinesYAML(`      - id: refund
        entry: start
        nodes:
          - id: start
            chat_state: Ask for the order number.
            tools: [orders:get]
            transitions:
              - to: nowhere
              - to: start
          - id: empty
          - id: decide
            think: Is it refundable?
            output_schema: {type: object}
          - id: finish
            tools: [built-in:emit_output, built-in:sleep, "no namespace"]
      - routines/kyc.yaml
      - id: refund
        entry: a
        nodes: []
`)
	list := violations(t, src, WithDir(dir))
	want := []struct {
		path, file string
		line       int
		msg        string
	}{
		{"agent_config.context.routines[0].nodes[0]", "", 13, "mixes the node kinds chat (chat_state) and tool (tools, tool_instruction)"},
		{"agent_config.context.routines[0].nodes[0].transitions[0].to", "", 17, `no node with id "nowhere" in this routine`},
		{"agent_config.context.routines[0].nodes[0].transitions[1]", "", 18, "a second transition without a condition (the first is at agent_config.context.routines[0].nodes[0].transitions[0], line 17)"},
		{"agent_config.context.routines[0].nodes[1]", "", 19, "has no kind"},
		{"agent_config.context.routines[0].nodes[2].think", "", 21, "think nodes run only in autonomous routines"},
		{"agent_config.context.routines[0].nodes[3].tools[0]", "", 24, "a conversational routine (without an autonomous block) cannot use it"},
		{"agent_config.context.routines[0].nodes[3].tools[1]", "", 24, "built-in:sleep cannot run on a routine tool node"},
		{"agent_config.context.routines[0].nodes[3].tools[2]", "", 24, "must be namespace:name"},
		{"agent_config.context.routines[2].id", "", 26, `duplicate routine id "refund" (first declared at agent_config.context.routines[0].id, line 10)`},
		{"agent_config.context.routines[2].nodes", "", 28, "must list at least one node"},
		{"agent_config.context.routines[1].autonomous.input_schema", "routines/kyc.yaml", 4, `invalid JSON Schema: at /type: value must be one of "array"`},
		{"agent_config.context.routines[1].autonomous.callback_url", "routines/kyc.yaml", 6, `host "hooks.evil.example" is not in callback_url_allowlist`},
		{"agent_config.context.routines[1].nodes[1]", "routines/kyc.yaml", 15, "ends the autonomous routine (it has no transitions), so it must be a tool node whose tools include built-in:emit_output"},
		{"agent_config.context.routines[1].nodes[2].id", "routines/kyc.yaml", 17, `duplicate node id "done" in this routine (first declared at agent_config.context.routines[1].nodes[1].id, routines/kyc.yaml line 15)`},
		{"agent_config.context.routines[1].nodes[2]", "routines/kyc.yaml", 17, "ends the autonomous routine"},
	}
	for _, w := range want {
		v := findViolation(t, list, w.path)
		if v.File != w.file || v.Line != w.line {
			t.Errorf("%s: at %q line %d, want %q line %d", w.path, v.File, v.Line, w.file, w.line)
		}
		if !strings.Contains(v.Message, w.msg) {
			t.Errorf("%s: message %q, want it to contain %q", w.path, v.Message, w.msg)
		}
	}
	if len(list) != len(want) {
		t.Errorf("got %d violations, want %d:\n%s", len(list), len(want), formatViolations(list))
	}
	for i := 1; i < len(list); i++ {
		if list[i-1].File != "" && list[i].File == "" {
			t.Errorf("violations of the manifest follow those of a routine file:\n%s", formatViolations(list))
			break
		}
	}
}

// autonomousRoutine wraps nodes in an autonomous routine whose entry is
// the node "a".
func autonomousRoutine(nodes string) string {
	return routinesYAML(`      - id: r
        entry: a
        autonomous:
          input_schema: {type: object}
          output_schema: {type: object}
        nodes:
` + nodes)
}

// conversationalRoutine wraps nodes in a routine without an autonomous
// block whose entry is the node "a".
func conversationalRoutine(nodes string) string {
	return routinesYAML(`      - id: r
        entry: a
        nodes:
` + nodes)
}

func TestParseRoutineNodes(t *testing.T) {
	const prefix = "agent_config.context.routines[0]"
	cases := []struct {
		name, src, path, msg string
	}{
		{"entry missing", conversationalRoutine("          - {id: b, chat_state: hi}\n"),
			prefix + ".entry", `no node with id "a" in this routine; entry must name one of: b`},
		{"tool and think", autonomousRoutine("          - {id: a, tools: [built-in:emit_output], think: x, output_schema: {}}\n"),
			prefix + ".nodes[0]", "mixes the node kinds tool (tools, tool_instruction) and think (think, output_schema)"},
		{"instruction without tools", conversationalRoutine("          - {id: a, tool_instruction: call it}\n"),
			prefix + ".nodes[0].tool_instruction", "tool_instruction needs tools"},
		{"empty tools", conversationalRoutine("          - {id: a, tools: []}\n"),
			prefix + ".nodes[0].tools", "must list at least one tool"},
		{"blank chat_state", conversationalRoutine("          - {id: a, chat_state: \" \"}\n"),
			prefix + ".nodes[0].chat_state", "must not be empty"},
		{"think without schema", autonomousRoutine("          - {id: a, think: decide, transitions: [{to: b}]}\n          - {id: b, tools: [built-in:emit_output]}\n"),
			prefix + ".nodes[0]", `missing required key "output_schema"`},
		{"schema without think", autonomousRoutine("          - {id: a, output_schema: {}, transitions: [{to: b}]}\n          - {id: b, tools: [built-in:emit_output]}\n"),
			prefix + ".nodes[0]", `missing required key "think"`},
		{"bad think schema", autonomousRoutine("          - {id: a, think: x, output_schema: {minimum: x}, transitions: [{to: b}]}\n          - {id: b, tools: [built-in:emit_output]}\n"),
			prefix + ".nodes[0].output_schema", "invalid JSON Schema: at /minimum: expected number, but got string"},
		{"route node empty transitions", conversationalRoutine("          - {id: a, transitions: []}\n"),
			prefix + ".nodes[0]", "has no kind"},
		{"terminal chat node", autonomousRoutine("          - {id: a, chat_state: hi}\n"),
			prefix + ".nodes[0]", "ends the autonomous routine"},
		{"terminal route", autonomousRoutine("          - {id: a, tools: [crm:x], transitions: []}\n"),
			prefix + ".nodes[0]", "ends the autonomous routine"},
		{"blank condition", conversationalRoutine("          - {id: a, chat_state: hi, transitions: [{to: a, condition: \" \"}]}\n"),
			prefix + ".nodes[0].transitions[0].condition", "remove it for a transition that always applies"},
		{"tool without name", conversationalRoutine("          - {id: a, tools: [\"crm:\"]}\n"),
			prefix + ".nodes[0].tools[0]", "must be namespace:name"},
		{"tool with bad namespace", conversationalRoutine("          - {id: a, tools: [\"c rm:x\"]}\n"),
			prefix + ".nodes[0].tools[0]", "must be namespace:name"},
		{"unknown key", conversationalRoutine("          - {id: a, chat_state: hi, tool: x}\n"),
			prefix + ".nodes[0].tool", `unknown key; did you mean "tools"?`},
		{"entry not string", strings.Replace(conversationalRoutine("          - {id: a, chat_state: hi}\n"), "entry: a", "entry: [a]", 1),
			prefix + ".entry", "must be a string, not a list"},
		{"entry list item", routinesYAML("      - 42\n"),
			prefix, "must be a routine (a mapping) or the path of a YAML file that holds one"},
		{"missing autonomous schema", strings.Replace(autonomousRoutine("          - {id: a, tools: [built-in:emit_output]}\n"), "          output_schema: {type: object}\n", "", 1),
			prefix + ".autonomous", `missing required key "output_schema"`},
		{"autonomous schema not mapping", strings.Replace(autonomousRoutine("          - {id: a, tools: [built-in:emit_output]}\n"), "output_schema: {type: object}", "output_schema: [x]", 1),
			prefix + ".autonomous.output_schema", "must be a mapping, not a list"},
		{"autonomous foreign draft", strings.Replace(autonomousRoutine("          - {id: a, tools: [built-in:emit_output]}\n"), "input_schema: {type: object}", "input_schema: {$schema: \"http://json-schema.org/draft-07/schema#\"}", 1),
			prefix + ".autonomous.input_schema", "$schema must be https://json-schema.org/draft/2020-12/schema or absent"},
		{"autonomous external ref", strings.Replace(autonomousRoutine("          - {id: a, tools: [built-in:emit_output]}\n"), "input_schema: {type: object}", "input_schema: {$ref: other.json}", 1),
			prefix + ".autonomous.input_schema", "points outside the schema"},
		{"timeout_seconds", strings.Replace(autonomousRoutine("          - {id: a, tools: [built-in:emit_output]}\n"), "input_schema:", "timeout_seconds: 0\n          input_schema:", 1),
			prefix + ".autonomous.timeout_seconds", "must be at least 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := findViolation(t, violations(t, c.src), c.path)
			if !strings.Contains(v.Message, c.msg) {
				t.Errorf("message %q, want it to contain %q", v.Message, c.msg)
			}
		})
	}
}

func TestParseRoutineNodesValid(t *testing.T) {
	cases := []struct{ name, src string }{
		{"route with one default", conversationalRoutine(`          - id: a
            transitions:
              - {to: b, condition: the customer is a business}
              - {to: c}
          - {id: b, chat_state: Ask for the VAT number.}
          - {id: c, chat_state: Ask for the name.}
`)},
		{"chat loop", conversationalRoutine("          - {id: a, chat_state: hi, transitions: [{to: a}]}\n")},
		{"emit with other tools", autonomousRoutine("          - {id: a, tools: [crm:save, built-in:emit_output], tool_instruction: 'Save, then emit.'}\n")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parseOK(t, c.src)
		})
	}
}

func TestParseCallbackURL(t *testing.T) {
	cases := []struct {
		name, url, allow, msg string
	}{
		{"allowed subdomain", "https://hooks.bank.example/cb", `["*.bank.example"]`, ""},
		{"allowed exact", "http://127.0.0.1:8080/cb", `["127.0.0.1"]`, ""},
		{"no allowlist", "https://anywhere.example/cb", `[]`, ""},
		{"apex not matched by wildcard", "https://bank.example/cb", `["*.bank.example"]`, `host "bank.example" is not in callback_url_allowlist`},
		{"relative", "/cb", `[]`, "must be an absolute http or https URL"},
		{"scheme", "ftp://bank.example/cb", `[]`, "must be an absolute http or https URL"},
		{"user info", "https://u:p@bank.example/cb", `[]`, "must not contain a user name or password"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(autonomousRoutine("          - {id: a, tools: [built-in:emit_output]}\n"),
				"input_schema:", "callback_url: \""+c.url+"\"\n          callback_url_allowlist: "+c.allow+"\n          input_schema:", 1)
			if c.msg == "" {
				parseOK(t, src)
				return
			}
			list := violations(t, src)
			wantViolation(t, list, "agent_config.context.routines[0].autonomous.callback_url", 13, c.msg)
			if strings.Contains(formatViolations(list), "u:p") {
				t.Errorf("violations show the URL's password:\n%s", formatViolations(list))
			}
		})
	}
}

func TestParseCallbackAllowlist(t *testing.T) {
	cases := []struct{ entry, msg string }{
		{"https://bank.example", "without a scheme"},
		{"bank.example/cb", "without a path"},
		{"bank.example:443", "without a port"},
		{"*", `only as a leading "*."`},
		{"api.*.example", `only as a leading "*."`},
		{"-bad.example", "must be a host name"},
		{"a..example", "must be a host name"},
	}
	for _, c := range cases {
		t.Run(c.entry, func(t *testing.T) {
			src := strings.Replace(autonomousRoutine("          - {id: a, tools: [built-in:emit_output]}\n"),
				"input_schema:", "callback_url_allowlist: [\""+c.entry+"\"]\n          input_schema:", 1)
			wantViolation(t, violations(t, src), "agent_config.context.routines[0].autonomous.callback_url_allowlist[0]", 13, c.msg)
		})
	}
}

func TestParseRoutineBlankCondition(t *testing.T) {
	src := routinesYAML(`      - id: r
        entry: a
        conditions: ["  "]
        nodes:
          - id: a
            chat_state: Greet.
`)
	list := violations(t, src)
	v := findViolation(t, list, "agent_config.context.routines[0].conditions[0]")
	if !strings.Contains(v.Message, "must not be empty or only whitespace") {
		t.Errorf("message %q, want it to reject the blank condition", v.Message)
	}
}

func TestParseRoutineHandoffTool(t *testing.T) {
	list := violations(t, conversationalRoutine(`          - id: a
            tools: [built-in:handoff]
`))
	v := findViolation(t, list, "agent_config.context.routines[0].nodes[0].tools[0]")
	for _, want := range []string{"built-in:handoff cannot run on a routine tool node", "context.handoff"} {
		if !strings.Contains(v.Message, want) {
			t.Errorf("message %q, want it to contain %q", v.Message, want)
		}
	}
}
