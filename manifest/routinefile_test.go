package manifest

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRoutineFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "agents/support/routines/kyc.yaml", kycRoutine)
	writeFile(t, dir, "agents/support/agent.yaml", routinesYAML("      - routines/kyc.yaml\n"))

	m, err := Load(filepath.Join(dir, "agents/support/agent.yaml"), noEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	rs := m.AgentConfig.Context.Routines
	if len(rs) != 1 || rs[0].ID != "kyc" {
		t.Fatalf("routines = %+v; want kyc, read relative to the manifest", rs)
	}
	if got, want := m.Path(rs[0].File), filepath.Join(dir, "agents/support/routines/kyc.yaml"); got != want {
		t.Errorf("Path(File) = %q, want %q", got, want)
	}
}

func TestParseRoutineFileErrors(t *testing.T) {
	const entry = "agent_config.context.routines[0]"
	cases := []struct {
		name, file, entry string
		vars              map[string]string
		path, inFile      string
		line              int
		msg               string
	}{
		{"missing file", "", "routines/absent.yaml", nil,
			entry, "", 10, "routines/absent.yaml not found (relative paths start at "},
		{"directory", "", "routines", nil,
			entry, "", 10, "is not a regular file"},
		{"blank path", "", `" "`, nil,
			entry, "", 10, "must be a routine, or the path of a YAML file that holds one"},
		{"unset variable in path", "", "${ROUTINES}/r.yaml", nil,
			entry, "", 10, "environment variable ROUTINES is not set"},
		{"duplicate key", "id: r\nentry: a\nid: s\nnodes: [{id: a, chat_state: hi}]\n", "routines/r.yaml", nil,
			entry + ".id", "routines/r.yaml", 3, `duplicate key "id" (first set on line 1)`},
		{"syntax error", "id: r\nentry: a\n nodes: x\n", "routines/r.yaml", nil,
			entry, "routines/r.yaml", 3, "invalid YAML"},
		{"empty file", "# nothing yet\n", "routines/r.yaml", nil,
			entry, "routines/r.yaml", 0, "the routine file is empty"},
		{"two documents", "id: r\n---\nid: s\n", "routines/r.yaml", nil,
			entry, "routines/r.yaml", 2, "put the whole routine file in one document"},
		{"not a mapping", "- id: r\n", "routines/r.yaml", nil,
			entry, "routines/r.yaml", 1, "must hold one routine: a mapping with id, entry and nodes"},
		{"missing key", "id: r\nnodes: [{id: a, chat_state: hi}]\n", "routines/r.yaml", nil,
			entry, "routines/r.yaml", 1, `missing required key "entry"`},
		{"unset variable in file", "id: r\nentry: a\nnodes:\n  - id: a\n    chat_state: Hello ${NAME}\n", "routines/r.yaml", nil,
			entry + ".nodes[0].chat_state", "routines/r.yaml", 5, "environment variable NAME is not set"},
		{"variable in path", "id: r\nentry: b\nnodes: [{id: a, chat_state: hi}]\n", "${DIR}/r.yaml", map[string]string{"DIR": "routines"},
			entry + ".entry", "routines/r.yaml", 2, `no node with id "b"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "routines/.keep", "")
			if c.file != "" {
				writeFile(t, dir, "routines/r.yaml", c.file)
			}
			list := violations(t, routinesYAML("      - "+c.entry+"\n"), WithDir(dir), env(c.vars))
			v := findViolation(t, list, c.path)
			if v.File != c.inFile || v.Line != c.line {
				t.Errorf("at %q line %d, want %q line %d", v.File, v.Line, c.inFile, c.line)
			}
			if !strings.Contains(v.Message, c.msg) {
				t.Errorf("message %q, want it to contain %q", v.Message, c.msg)
			}
			if len(list) != 1 {
				t.Errorf("got %d violations, want 1:\n%s", len(list), formatViolations(list))
			}
		})
	}
}

func TestRoutineFileErrorFormat(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "routines/kyc.yaml", "id: kyc\nentry: a\nnodes:\n  - {id: a, chat_state: hi, colour: blue}\n")
	writeFile(t, dir, "agent.yaml", routinesYAML("      - routines/kyc.yaml\n"))
	_, err := Load(filepath.Join(dir, "agent.yaml"), noEnv)
	if err == nil {
		t.Fatal("Load succeeded; want an error")
	}
	want := "agent_config.context.routines[0].nodes[0].colour (routines/kyc.yaml line 4): unknown key"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error:\n%v\nwant a line %q", err, want)
	}
}

func TestRoutineFileAliasBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("id: r\nentry: a\nnodes: [{id: a, chat_state: hi}]\nx0: &x0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i < 8; i++ {
		b.WriteString("x" + string(rune('0'+i)) + ": &x" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*x" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	dir := t.TempDir()
	writeFile(t, dir, "r.yaml", b.String())
	list := violations(t, routinesYAML("      - r.yaml\n"), WithDir(dir))
	if len(list) != 1 || !strings.Contains(list[0].Message, "remove nested aliases") || list[0].File != "r.yaml" {
		t.Errorf("violations:\n%s\nwant one about nested aliases in r.yaml", formatViolations(list))
	}
}
