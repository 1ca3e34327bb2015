package manifest

import (
	"strings"
	"testing"
)

// contextYAML is validYAML with a context block of the given lines.
func contextYAML(lines string) string {
	return validYAML + "  context:\n" + lines
}

func TestLoadPolicies(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "policies/refund.yaml", `id: refund
name: Refunds
condition: The customer asks for a refund
action: Ask for the order number before anything else.
criticality: HIGH
tools: [shop:refund, built-in:handoff]
`)
	src := contextYAML(`    handoff: true
    policies:
      - id: greet
        condition: The customer greets the agent
        action: Greet back by name.
      - policies/refund.yaml
    relationships:
      priorities:
        - {higher: refund, over: greet}
        - {higher: refund, over_all_routines: true}
      entailments:
        - {source: refund, target: greet}
    glossary:
      - name: RMA
        description: Return merchandise authorisation, the number of a return.
        synonyms: [return number]
`)
	m := parseOK(t, src, WithDir(dir))
	c := m.AgentConfig.Context
	if len(c.Policies) != 2 {
		t.Fatalf("%d policies, want 2", len(c.Policies))
	}
	if got := c.Policies[0].Criticality; got != CriticalityMedium {
		t.Errorf("default criticality = %q, want MEDIUM", got)
	}
	refund := c.Policy("refund")
	if refund == nil {
		t.Fatal("Policy(refund) = nil")
	}
	if refund.File != "policies/refund.yaml" || refund.Criticality != CriticalityHigh {
		t.Errorf("refund policy = file %q criticality %q, want policies/refund.yaml HIGH", refund.File, refund.Criticality)
	}
	if !c.Handoff {
		t.Error("Handoff = false, want true")
	}
	if got := c.Relationships.Priorities; len(got) != 2 || got[0].Over != "greet" || !got[1].OverAllRoutines {
		t.Errorf("priorities = %+v", got)
	}
	if got := c.Relationships.Entailments; len(got) != 1 || got[0].Source != "refund" || got[0].Target != "greet" {
		t.Errorf("entailments = %+v", got)
	}
	if len(c.Glossary) != 1 || c.Glossary[0].Synonyms[0] != "return number" {
		t.Errorf("glossary = %+v", c.Glossary)
	}

	refs := m.ToolReferences()
	if len(refs) != 1 {
		t.Fatalf("ToolReferences = %+v, want only shop:refund (built-in tools are checked at load)", refs)
	}
	want := ToolRef{Name: "shop:refund", Path: "agent_config.context.policies[1].tools[0]", File: "policies/refund.yaml", Line: 6}
	if refs[0] != want {
		t.Errorf("ToolReferences()[0] = %+v, want %+v", refs[0], want)
	}
}

func TestParsePolicyMistakes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "p.yaml", "- id: listed\n")
	src := contextYAML(`    policies:
      - id: a
        condition: The customer is angry
        action: Apologise.
        tools: [built-in:emit_output, "no namespace"]
      - id: a
        condition: " "
        action: Calm down.
      - id: b
        condition: b holds
        action: Do b.
        criticality: medium
      - id: c
        condition: c holds
        action: Do c.
      - missing.yaml
      - p.yaml
    relationships:
      priorities:
        - {higher: a, over: b}
        - {higher: b, over: c}
        - {higher: c, over: a}
        - {higher: a, over: b, over_all_routines: true}
        - {higher: a}
        - {higher: nobody, over: a}
        - {higher: a, over_all_routines: false}
        - {higher: b, over: b}
      entailments:
        - {source: a, target: c}
        - {source: c, target: a}
        - {source: a, target: ghost}
    glossary:
      - name: RMA
        description: " "
      - name: Return
        description: A return.
        synonyms: [rma, ""]
`)
	list := violations(t, src, WithDir(dir))
	want := []struct {
		path string
		line int
		msg  string
	}{
		{"agent_config.context.policies[0].tools[0]", 13, `unknown built-in tool "built-in:emit_output" for a policy`},
		{"agent_config.context.policies[0].tools[1]", 13, "must be namespace:name"},
		{"agent_config.context.policies[1].id", 14, `duplicate policy id "a" (first declared at agent_config.context.policies[0].id, line 10)`},
		{"agent_config.context.policies[1].condition", 15, "must not be empty or only whitespace"},
		{"agent_config.context.policies[2].criticality", 20, "HIGH"},
		{"agent_config.context.policies[4]", 24, "missing.yaml not found"},
		{"agent_config.context.policies[5]", 1, "the policy file p.yaml must hold one policy"},
		{"agent_config.context.relationships.priorities[2]", 30, "the priorities form a cycle: a over b over c over a; remove one of its entries"},
		{"agent_config.context.relationships.priorities[3]", 31, "set exactly one of over and over_all_routines, not both"},
		{"agent_config.context.relationships.priorities[4]", 32, "set over (a policy id) or over_all_routines: true"},
		{"agent_config.context.relationships.priorities[5].higher", 33, `no policy with id "nobody"; use one of: a, b, c`},
		{"agent_config.context.relationships.priorities[6].over_all_routines", 34, "must be true"},
		{"agent_config.context.relationships.priorities[7].over", 35, "cannot rank over itself"},
		{"agent_config.context.relationships.entailments[1]", 38, "the entailments form a cycle: a entails c entails a"},
		{"agent_config.context.relationships.entailments[2].target", 39, `no policy with id "ghost"`},
		{"agent_config.context.glossary[0].description", 42, "must not be empty or only whitespace"},
		{"agent_config.context.glossary[1].synonyms[0]", 45, `"rma" is already a glossary name or synonym at agent_config.context.glossary[0].name, line 41`},
		{"agent_config.context.glossary[1].synonyms[1]", 45, "must not be empty or only whitespace"},
	}
	for _, w := range want {
		v := findViolation(t, list, w.path)
		if v.Line != w.line {
			t.Errorf("%s: line %d, want %d", w.path, v.Line, w.line)
		}
		if !strings.Contains(v.Message, w.msg) {
			t.Errorf("%s: message %q, want it to contain %q", w.path, v.Message, w.msg)
		}
	}
	if len(list) != len(want) {
		t.Errorf("%d violations, want %d:\n%s", len(list), len(want), formatViolations(list))
	}
}

func TestParseRelationshipsWithoutPolicies(t *testing.T) {
	src := contextYAML(`    relationships:
      entailments:
        - {source: a, target: b}
`)
	list := violations(t, src)
	wantViolation(t, list, "agent_config.context.relationships.entailments[0].source", 11, "context.policies declares none")
	wantViolation(t, list, "agent_config.context.relationships.entailments[0].target", 11, "context.policies declares none")
}

func TestParsePolicyFileViolationNamesFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "policies/p.yaml", "id: p\ncondition: holds\naction: \" \"\ntools: [orders:refund]\n")
	src := contextYAML("    policies: [policies/p.yaml]\n") + `  mcps:
    - {id: orders, url: "http://127.0.0.1:1/mcp", tools: [get]}
`
	list := violations(t, src, WithDir(dir))
	v := findViolation(t, list, "agent_config.context.policies[0].action")
	if v.File != "policies/p.yaml" || v.Line != 3 {
		t.Errorf("action reported in %q line %d, want policies/p.yaml line 3", v.File, v.Line)
	}
	v = findViolation(t, list, "agent_config.context.policies[0].tools[0]")
	if v.File != "policies/p.yaml" || v.Line != 4 || !strings.Contains(v.Message, `MCP server "orders" allows only the tools get`) {
		t.Errorf("tool reported as %v, want the allow-list violation at policies/p.yaml line 4", v)
	}
}
