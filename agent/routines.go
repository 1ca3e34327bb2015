package agent

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/routine"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/tool"
)

// States of a routine event.
const (
	RoutineEntered   = "entered"
	RoutineCompleted = "completed"
	RoutineExited    = "exited"
)

// routineApplies is the id under which the evaluation lane judges
// whether the active routine's conditions still hold. Transition ids
// start with "to_", so they never take it.
const routineApplies = "routine_applies"

// routineSet holds the conversational routines of the manifest (those
// without an autonomous block), compiled at load, in manifest order.
type routineSet struct {
	list      []*routine.Routine
	byID      map[string]*routine.Routine
	macros    map[string]manifest.Macro
	batchSize int
	// evalBudget is the size in bytes of the transcripts that the
	// evaluation lane judges.
	evalBudget int
}

// newRoutineSet compiles the conversational routines of m against tools.
// It returns nil when m declares none.
func newRoutineSet(m *manifest.Manifest, tools *tool.Registry) (*routineSet, error) {
	c := m.AgentConfig.Context
	rs := &routineSet{byID: map[string]*routine.Routine{}, macros: map[string]manifest.Macro{}}
	if tools == nil {
		tools, _ = tool.NewRegistry()
	}
	for _, def := range c.Routines {
		if def.Autonomous != nil {
			continue
		}
		r, err := routine.Compile(def, tools)
		if err != nil {
			return nil, fmt.Errorf("agent: compiling conversational routine %q: %w", def.ID, err)
		}
		rs.list = append(rs.list, r)
		rs.byID[def.ID] = r
	}
	if len(rs.list) == 0 {
		return nil, nil
	}
	for _, mac := range c.Macros {
		rs.macros[mac.ID] = mac
	}
	rs.batchSize = m.AgentConfig.Runtime.PolicyBatchSize
	if rs.batchSize <= 0 {
		rs.batchSize = manifest.DefaultPolicyBatchSize
	}
	window := m.AgentConfig.LLMs.EvaluationContextWindow
	if window <= 0 {
		window = manifest.DefaultContextWindow
	}
	rs.evalBudget = window * bytesPerToken / 2
	return rs, nil
}

// routinePosition is the routine and node that a session is at.
type routinePosition struct {
	// routine is nil when no routine is active.
	routine *routine.Routine
	node    string
	// toolsDone reports that each tool of the current tool node has a
	// result since the node was entered.
	toolsDone bool
	// results holds the tools of the current node that have a result
	// since the node was entered.
	results map[string]bool
	// enteredThisTurn reports that the current node was entered in the
	// running turn.
	enteredThisTurn bool
}

// position derives the routine position from the newest routine event in
// history: entered makes its routine active at its node, completed and
// exited leave none active. It also returns the outputs of the tool
// nodes of the active routine, built from the tool_result events that
// follow each node's entry.
//
// A tool node is done once each of its tools has a result after the
// node's latest entry. A result with code timeout does not count, so a
// call that the end of a turn cut off runs again.
//
// NOTE: only the loaded history is read, which holds the newest events
// that fill the chat lane's context window. A routine whose last event
// is older than that counts as ended.
func (rs *routineSet) position(history []store.Event) (routinePosition, map[string]json.RawMessage) {
	var pos routinePosition
	outputs := map[string]json.RawMessage{}
	records := map[string][]map[string]any{}
	args := map[string]json.RawMessage{}
	for _, ev := range history {
		switch ev.Kind {
		case KindRoutine:
			p, err := DecodePayload(ev)
			if err != nil {
				continue
			}
			r := rs.byID[p.RoutineID]
			if p.State != RoutineEntered || r == nil || nodeOf(r, p.NodeID) == nil {
				pos = routinePosition{}
				records = map[string][]map[string]any{}
				continue
			}
			if pos.routine != r {
				records = map[string][]map[string]any{}
			}
			pos = routinePosition{routine: r, node: p.NodeID, results: map[string]bool{}}
			delete(records, p.NodeID)
		case KindToolCall:
			if p, err := DecodePayload(ev); err == nil {
				args[p.CallID] = p.Arguments
			}
		case KindToolResult:
			if pos.routine == nil {
				continue
			}
			p, err := DecodePayload(ev)
			n := nodeOf(pos.routine, pos.node)
			if err != nil || n.Kind() != manifest.NodeTool || !slices.Contains(n.Tools, p.Tool) {
				continue
			}
			if p.Error == nil || p.Error.Code != ToolErrorTimeout {
				pos.results[p.Tool] = true
				pos.toolsDone = len(pos.results) == len(uniqueTools(n.Tools))
			}
			rec := map[string]any{"tool": p.Tool, "arguments": args[p.CallID], "result": p.Result}
			if p.Error != nil {
				rec["error"] = p.Error.Message
			}
			records[pos.node] = append(records[pos.node], rec)
		}
	}
	for node, recs := range records {
		if b, err := json.Marshal(recs); err == nil {
			outputs[node] = b
		}
	}
	return pos, outputs
}

// endedRoutines returns, for each routine with a completed or exited
// event in history, the offset of its newest such event.
func endedRoutines(history []store.Event) map[string]int64 {
	ended := map[string]int64{}
	for _, ev := range history {
		if ev.Kind != KindRoutine {
			continue
		}
		p, err := DecodePayload(ev)
		if err != nil {
			continue
		}
		if p.State == RoutineCompleted || p.State == RoutineExited {
			ended[p.RoutineID] = ev.Offset
		}
	}
	return ended
}

// customerMessagesAfter renders the customer messages of history with
// offsets after offset as a transcript within budget bytes, or "" when
// there are none.
func customerMessagesAfter(history []store.Event, offset int64, budget int) string {
	var later []store.Event
	for _, ev := range history {
		if ev.Offset > offset && ev.Kind == KindUserMessage {
			later = append(later, ev)
		}
	}
	msgs := conversation(later)
	if len(msgs) == 0 {
		return ""
	}
	return renderTranscript(msgs, budget)
}

// conversationUntil renders the conversation of history up to and
// including offset within budget bytes, or "" when budget is not
// positive or nothing is there.
func conversationUntil(history []store.Event, offset int64, budget int) string {
	if budget <= 0 {
		return ""
	}
	var earlier []store.Event
	for _, ev := range history {
		if ev.Offset <= offset {
			earlier = append(earlier, ev)
		}
	}
	return renderTranscript(conversation(earlier), budget)
}

// isReply reports whether ev is a reply to the customer: an agent
// message or a message of a human agent.
func isReply(ev store.Event) bool {
	switch ev.Kind {
	case KindAgentMessage:
		return true
	case KindUserMessage:
		p, err := DecodePayload(ev)
		return err == nil && p.Source == SourceHumanAgent
	}
	return false
}

// turnStart returns the offset of the newest reply in history that
// comes before offset before and that turn turnID did not write, or -1
// when there is none. The customer messages after that reply are the
// ones that started turn turnID.
func turnStart(history []store.Event, before int64, turnID string) int64 {
	start := int64(-1)
	for _, ev := range history {
		if ev.Offset >= before {
			break
		}
		if ev.TurnID != turnID && isReply(ev) {
			start = ev.Offset
		}
	}
	return start
}

// activation returns the newest entered event of routineID in history
// that started a run of the routine: no event of the routine came
// before it, or the routine had ended before it. ok is false when
// history holds no such event.
func activation(history []store.Event, routineID string) (ev store.Event, ok bool) {
	running := false
	for _, e := range history {
		if e.Kind != KindRoutine {
			continue
		}
		p, err := DecodePayload(e)
		if err != nil {
			continue
		}
		entered := p.State == RoutineEntered && p.RoutineID == routineID
		if entered && !running {
			ev, ok = e, true
		}
		running = entered
	}
	return ev, ok
}
