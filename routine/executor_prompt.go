package routine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tmc/langchaingo/llms"
)

// systemMessage returns the system message of every model call of a run
// of r: the executor's system prompt, the routine's description and the
// autonomous instructions. It is one message with one text part, because
// the langchaingo v0.1.14 Anthropic client reads only the first part of
// a system message.
func (x *Executor) systemMessage(r *Routine) llms.MessageContent {
	var b strings.Builder
	if p := strings.TrimSpace(x.SystemPrompt); p != "" {
		b.WriteString(p)
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "You are running the routine %q on your own: no person reads your replies, and nobody can answer questions.", r.ID())
	if t := strings.TrimSpace(r.def.Title); t != "" {
		fmt.Fprintf(&b, "\nRoutine title: %s", t)
	}
	if d := strings.TrimSpace(r.def.Description); d != "" {
		fmt.Fprintf(&b, "\nWhat the routine does: %s", d)
	}
	if a := r.def.Autonomous; a != nil && strings.TrimSpace(a.Instructions) != "" {
		fmt.Fprintf(&b, "\n\nInstructions:\n%s", strings.TrimSpace(a.Instructions))
	}
	return llms.TextParts(llms.ChatMessageTypeSystem, b.String())
}

// contextBlock returns the run's input and the outputs of the nodes run
// so far, as JSON, for the prompt of a node.
func contextBlock(st *State) string {
	var b strings.Builder
	b.WriteString("Input of the run (JSON):\n")
	b.Write(compactJSON(st.Input))
	b.WriteString("\n\nOutputs of earlier nodes, by node id (JSON):\n")
	if len(st.Outputs) == 0 {
		b.WriteString("{}")
	} else {
		out, err := json.Marshal(st.Outputs)
		if err != nil {
			// Outputs hold only values that validated as JSON.
			out = []byte("{}")
		}
		b.Write(out)
	}
	return b.String()
}

// compactJSON returns raw without insignificant white space, or raw
// itself when it is not valid JSON. Number literals are kept as written.
func compactJSON(raw []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

// formatViolations lists violations on one line each, for prompts and
// messages.
func formatViolations(vs []Violation) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteString("; ")
		}
		path := v.Path
		if path == "" {
			path = "(root)"
		}
		b.WriteString(path)
		b.WriteString(": ")
		b.WriteString(v.Message)
	}
	return b.String()
}
