package manifest

import (
	"fmt"
	"strings"
)

// ToolRef is one tool reference written in the manifest, with its source
// position, so that a server can report references that name no
// registered tool in the format of [Violation].
type ToolRef struct {
	// Name is the reference as written: "namespace:name".
	Name string
	// Path is the YAML path of the reference, such as
	// "agent_config.context.routines[0].nodes[2].tools[0]".
	Path string
	// File is the routine file that holds the reference, or "" for the
	// manifest.
	File string
	// Line is the 1-based source line, or 0 for a manifest built in code.
	Line int
}

// Namespace returns the part of Name before the first ':': an MCP
// server's id, a native tool set or [BuiltinNamespace].
func (r ToolRef) Namespace() string {
	ns, _, _ := strings.Cut(r.Name, ":")
	return ns
}

// Tool returns the part of Name after the first ':'.
func (r ToolRef) Tool() string {
	_, tool, _ := strings.Cut(r.Name, ":")
	return tool
}

// Violation returns a violation at the reference's position.
func (r ToolRef) Violation(format string, args ...any) Violation {
	return Violation{File: r.File, Path: r.Path, Line: r.Line, Message: fmt.Sprintf(format, args...)}
}

// ToolReferences lists the tool references of every routine node and
// then of every policy, in manifest order, except those in [BuiltinNamespace], which loading has
// already checked. Loading checks their "namespace:name" form and, for
// an MCP server with a tools allow-list, that the list names the tool.
// The tools of MCP servers and native tools are known only when the
// server starts, so it resolves these and reports the unknown ones, for
// example with [NewValidationError].
func (m *Manifest) ToolReferences() []ToolRef {
	var out []ToolRef
	for i := range m.AgentConfig.Context.Routines {
		r := &m.AgentConfig.Context.Routines[i]
		for j := range r.Nodes {
			n := &r.Nodes[j]
			for k, name := range n.Tools {
				ref := ToolRef{
					Name: name,
					Path: fmt.Sprintf("agent_config.context.routines[%d].nodes[%d].tools[%d]", i, j, k),
					File: r.File,
				}
				if ref.Namespace() == BuiltinNamespace {
					continue
				}
				if k < len(n.toolLines) {
					ref.Line = n.toolLines[k]
				}
				out = append(out, ref)
			}
		}
	}
	return append(out, m.policyToolReferences()...)
}

// recordRoutineSources copies what decoding loses from t into the
// routines of m: the file each one was read from and the line of each
// tool reference.
func recordRoutineSources(m *Manifest, t *tree) {
	for i := range m.AgentConfig.Context.Routines {
		r := &m.AgentConfig.Context.Routines[i]
		r.File = t.routineFiles[i]
		for j := range r.Nodes {
			n := &r.Nodes[j]
			n.toolLines = make([]int, len(n.Tools))
			for k := range n.Tools {
				n.toolLines[k] = t.line(fmt.Sprintf("%s/%d/nodes/%d/tools/%d", routinesPointer, i, j, k))
			}
		}
	}
}
