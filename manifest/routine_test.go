package manifest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// routinesYAML is validYAML with a context block that holds the given
// routines list, indented under "routines:".
func routinesYAML(routines string) string {
	return validYAML + "  context:\n    routines:\n" + routines
}

// writeFile writes data to name under dir, creating parent directories.
func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// kycRoutine is a valid autonomous routine, as a routine file holds it.
const kycRoutine = `id: kyc
title: Know your customer
entry: lookup
autonomous:
  input_schema:
    type: object
    properties:
      email: {type: string, format: email}
    required: [email]
  output_schema:
    type: object
    properties:
      verified: {type: boolean}
  callback_url: https://hooks.bank.example/kyc
  callback_url_allowlist: ["*.bank.example"]
nodes:
  - id: lookup
    tools: [crm:find_customer]
    tool_instruction: Look the customer up by ${LOOKUP_FIELD:-email}.
    transitions:
      - to: decide
  - id: decide
    think: Is the customer verified?
    output_schema: {type: object, properties: {verified: {type: boolean}}}
    transitions:
      - to: route
  - id: route
    transitions:
      - to: done
        condition: the customer is verified
      - to: done
  - id: done
    tools: [built-in:emit_output]
`

// refundRoutine is a valid conversational routine, inline in a manifest.
const refundRoutine = `      - id: refund
        conditions: [The customer asks for a refund]
        entry: ask
        nodes:
          - id: ask
            chat_state: Ask for the order number.
            transitions:
              - to: lookup
                condition: the customer gave an order number
          - id: lookup
            tools: [orders:get, orders:refund]
`

func TestParseRoutines(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "routines/kyc.yaml", kycRoutine)
	m := parseOK(t, routinesYAML(refundRoutine+"      - routines/kyc.yaml\n"), WithDir(dir))

	rs := m.AgentConfig.Context.Routines
	if len(rs) != 2 {
		t.Fatalf("got %d routines, want 2", len(rs))
	}
	refund, kyc := &rs[0], &rs[1]
	if refund.ID != "refund" || refund.File != "" || refund.Autonomous != nil {
		t.Errorf("routine 0: id %q, file %q, autonomous %v; want inline conversational refund", refund.ID, refund.File, refund.Autonomous)
	}
	if kyc.ID != "kyc" || kyc.File != "routines/kyc.yaml" {
		t.Errorf("routine 1: id %q, file %q; want kyc from routines/kyc.yaml", kyc.ID, kyc.File)
	}
	if kyc.Autonomous == nil {
		t.Fatal("kyc has no autonomous block")
	}
	if kyc.Autonomous.TimeoutSeconds != DefaultRunTimeoutSeconds || kyc.Autonomous.MaxAttempts != DefaultMaxAttempts {
		t.Errorf("timeout_seconds, max_attempts = %d, %d; want the defaults", kyc.Autonomous.TimeoutSeconds, kyc.Autonomous.MaxAttempts)
	}
	if got := kyc.Node("lookup").ToolInstruction; got != "Look the customer up by email." {
		t.Errorf("tool_instruction = %q; want the variable expanded to its default", got)
	}
	if !strings.Contains(string(kyc.Autonomous.InputSchema), `"format":"email"`) {
		t.Errorf("input_schema = %s; want the schema as JSON", kyc.Autonomous.InputSchema)
	}

	kinds := map[string]string{"lookup": NodeTool, "decide": NodeThink, "route": NodeRoute, "done": NodeTool}
	for id, want := range kinds {
		n := kyc.Node(id)
		if n == nil {
			t.Errorf("Node(%q) = nil", id)
			continue
		}
		if got := n.Kind(); got != want {
			t.Errorf("Node(%q).Kind() = %q, want %q", id, got, want)
		}
	}
	if got := refund.Node("ask").Kind(); got != NodeChat {
		t.Errorf("ask kind = %q, want chat", got)
	}
	if n := kyc.Node("absent"); n != nil {
		t.Errorf("Node(absent) = %+v, want nil", n)
	}
}

func TestToolReferences(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "routines/kyc.yaml", kycRoutine)
	m := parseOK(t, routinesYAML(refundRoutine+"      - routines/kyc.yaml\n"), WithDir(dir))

	want := []ToolRef{
		{Name: "orders:get", Path: "agent_config.context.routines[0].nodes[1].tools[0]", Line: 20},
		{Name: "orders:refund", Path: "agent_config.context.routines[0].nodes[1].tools[1]", Line: 20},
		{Name: "crm:find_customer", Path: "agent_config.context.routines[1].nodes[0].tools[0]", File: "routines/kyc.yaml", Line: 18},
	}
	got := m.ToolReferences()
	if !slices.Equal(got, want) {
		t.Errorf("ToolReferences:\n got %+v\nwant %+v", got, want)
	}
	if ns, tool := got[2].Namespace(), got[2].Tool(); ns != "crm" || tool != "find_customer" {
		t.Errorf("Namespace, Tool = %q, %q; want crm, find_customer", ns, tool)
	}

	v := got[2].Violation("unknown tool %q", got[2].Name)
	wantLine := `agent_config.context.routines[1].nodes[0].tools[0] (routines/kyc.yaml line 18): unknown tool "crm:find_customer"`
	if v.String() != wantLine {
		t.Errorf("Violation = %q, want %q", v.String(), wantLine)
	}
}

func TestToolReferencesBuiltInCode(t *testing.T) {
	m := &Manifest{AgentConfig: AgentConfig{Context: Context{Routines: []Routine{{
		ID:    "r",
		Nodes: []Node{{ID: "n", Tools: []string{"crm:a", EmitOutputTool}}},
	}}}}}
	want := []ToolRef{{Name: "crm:a", Path: "agent_config.context.routines[0].nodes[0].tools[0]"}}
	if got := m.ToolReferences(); !slices.Equal(got, want) {
		t.Errorf("ToolReferences = %+v, want %+v", got, want)
	}
}

func TestNodeKind(t *testing.T) {
	cases := []struct {
		name string
		node Node
		want string
	}{
		{"chat", Node{ChatState: "greet"}, NodeChat},
		{"tool", Node{Tools: []string{"a:b"}}, NodeTool},
		{"tool instruction only", Node{ToolInstruction: "call it"}, NodeTool},
		{"think", Node{Think: "decide", OutputSchema: []byte(`{}`)}, NodeThink},
		{"route", Node{Transitions: []Transition{{To: "x"}}}, NodeRoute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.node.Kind(); got != c.want {
				t.Errorf("Kind() = %q, want %q", got, c.want)
			}
		})
	}
}
