package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/internal/ids"
	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/routine"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/tool"
)

// routineWalk selects and advances the active routine during one turn's
// preparation. The routine events it produces are written with the
// turn's final events through CompleteTurn, whether or not the turn
// replies. The exception is a tool node: the events are appended before
// it runs its tools, so the log shows the entry before the calls.
type routineWalk struct {
	e           *Engine
	set         *routineSet
	sid, turnID string
	log         *slog.Logger

	pos     routinePosition
	outputs map[string]json.RawMessage
	// reply is the routine and node whose instruction goes into the
	// prompt of the reply; nil when none.
	reply     *routine.Routine
	replyNode string
	// pending holds the routine events not yet written.
	pending []store.NewEvent
	// done holds the routines that completed or exited in this turn, so
	// the turn does not enter them again.
	done map[string]bool
	// activated reports that this turn activated a routine, and
	// activatedID names it.
	activated   bool
	activatedID string
	// entered holds the nodes entered in this turn, as "routine/node".
	entered map[string]bool
	// ended holds the offset of the newest completed or exited event of
	// each routine in history.
	ended   map[string]int64
	history []store.Event
	// current is the offset after which the customer messages of this
	// turn start, or -1 when history has no earlier reply.
	current int64
	// path holds the nodes entered in this turn, in order.
	path []string
	// base is the number of conversation messages when the walk began,
	// so the messages that this turn adds follow it.
	base int
}

// newRoutineWalk returns the walk of a turn whose history is history, or
// nil when the manifest declares no conversational routine.
func (e *Engine) newRoutineWalk(sid, turnID string, history []store.Event) *routineWalk {
	if e.routines == nil {
		return nil
	}
	pos, outputs := e.routines.position(history)
	w := &routineWalk{
		e: e, set: e.routines, sid: sid, turnID: turnID,
		log:     e.log.With("session_id", sid, "turn_id", turnID),
		pos:     pos,
		done:    map[string]bool{},
		entered: map[string]bool{},
		ended:   endedRoutines(history),
		history: history,
		current: turnStart(history, math.MaxInt64, turnID),
		base:    -1,
	}
	w.outputs = outputs
	if pos.routine != nil {
		w.reply, w.replyNode = pos.routine, pos.node
	}
	return w
}

// prepare runs the routine's preparation rounds: it activates a routine
// and walks its nodes until the walk rests at a node or the rounds
// reach max_engine_iterations. It returns the rounds used and the
// policies that apply, matched again after each round that ran tools.
func (w *routineWalk) prepare(ctx context.Context, p *prompt, matched []matchedPolicy) (int, []matchedPolicy, error) {
	rounds := w.e.cfg.Manifest.AgentConfig.Runtime.MaxEngineIterations
	used := 0
	if w.base < 0 {
		w.base = len(p.turns)
	}
	for used < rounds {
		more, ranTools, err := w.step(ctx, p, matched)
		if err != nil {
			return used, matched, err
		}
		if !more {
			return used, matched, nil
		}
		used++
		if ranTools {
			matched = w.e.matchPolicies(ctx, w.sid, w.turnID, p.turns)
		}
	}
	if w.pos.routine != nil {
		w.log.Warn("routine preparation reached runtime.max_engine_iterations; replying at the current node",
			"routine_id", w.pos.routine.ID(), "node_id", w.pos.node, "rounds", rounds)
	}
	return used, matched, nil
}

// step runs one preparation round. It reports whether the walk moved
// (and may move further) and whether tools ran.
func (w *routineWalk) step(ctx context.Context, p *prompt, matched []matchedPolicy) (more, ranTools bool, err error) {
	blocker := w.blockingPolicy(matched)
	r := w.pos.routine
	if r == nil {
		if blocker != "" {
			w.log.Info("routine activation blocked by a policy that ranks over all routines", "policy_id", blocker)
			return false, false, nil
		}
		if w.activated {
			// The routine that this turn activated ended: it keeps the
			// turn, so a second matching routine does not take the reply.
			return false, false, nil
		}
		r := w.activate(ctx, p)
		if r == nil {
			return false, false, nil
		}
		w.activated = true
		w.activatedID = r.ID()
		w.enter(r, r.Definition().Entry)
		return true, false, nil
	}
	if blocker != "" {
		w.exit("policy " + blocker + " ranks over all routines")
		return false, false, nil
	}
	n := nodeOf(r, w.pos.node)
	if n.Kind() == manifest.NodeTool {
		return w.toolStep(ctx, p, r, n)
	}
	return w.advance(ctx, p, r, n), false, nil
}

// blockingPolicy returns the id of the first matched policy that ranks
// over all routines, or "".
func (w *routineWalk) blockingPolicy(matched []matchedPolicy) string {
	ps := w.e.prompt.policies
	if ps == nil {
		return ""
	}
	for _, m := range matched {
		if ps.overAllRoutines[m.policy.ID] {
			return m.policy.ID
		}
	}
	return ""
}

// activate judges the conditions of every routine that did not end in
// this turn and returns the routine to enter, or nil. When several
// match, the first in manifest order wins.
//
// The conditions are judged on the customer messages of this turn, the
// ones no answer follows yet, so a message that an earlier turn answered
// starts nothing later, even one that matched a routine which lost to
// another. A routine that completed or exited is judged only on the
// customer messages after its end. The conversation before the judged
// messages goes along as context that the evaluation lane must not
// count. With no message to judge, a routine is not judged.
func (w *routineWalk) activate(ctx context.Context, p *prompt) *routine.Routine {
	type judgement struct {
		conds               []condition
		earlier, transcript string
	}
	since := map[int64][]condition{}
	var starts []int64
	for _, r := range w.set.list {
		def := r.Definition()
		if w.done[def.ID] || len(def.Conditions) == 0 {
			continue
		}
		c := condition{id: def.ID, text: conditionText(def.Conditions)}
		start := w.current
		if end, ended := w.ended[def.ID]; ended && end > start {
			start = end
		}
		if _, ok := since[start]; !ok {
			starts = append(starts, start)
		}
		since[start] = append(since[start], c)
	}
	var jobs []judgement
	for _, start := range starts {
		transcript := customerMessagesAfter(w.history, start, w.set.evalBudget)
		if transcript == "" {
			continue
		}
		earlier := conversationUntil(w.history, start, w.set.evalBudget-len(transcript))
		for batch := range slices.Chunk(since[start], w.set.batchSize) {
			jobs = append(jobs, judgement{batch, earlier, transcript})
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	found := make([]map[string]string, len(jobs))
	forEachBounded(len(jobs), func(i int) {
		found[i] = w.judge(ctx, "routine match", jobs[i].conds, jobs[i].earlier, jobs[i].transcript)
	})

	var matched []string
	for _, r := range w.set.list {
		for _, f := range found {
			if _, ok := f[r.ID()]; ok {
				matched = append(matched, r.ID())
				break
			}
		}
	}
	if len(matched) == 0 {
		return nil
	}
	if len(matched) > 1 {
		w.log.Info("several routines match; entering the first in manifest order",
			"routine_ids", matched, "routine_id", matched[0])
	}
	return w.set.byID[matched[0]]
}

// judge runs [Engine.judge] and logs a failure, which counts as no match.
func (w *routineWalk) judge(ctx context.Context, what string, conds []condition, earlier, transcript string) map[string]string {
	ids := make([]string, len(conds))
	for i, c := range conds {
		ids[i] = c.id
	}
	matched, err := w.e.judge(ctx, what, conds, earlier, transcript)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn(err.Error()+"; counting the conditions as not holding", "condition_ids", ids)
		}
		return nil
	}
	return matched
}

// conditionText joins the conditions of a routine into one condition.
func conditionText(conds []string) string {
	if len(conds) == 1 {
		return strings.TrimSpace(conds[0])
	}
	parts := make([]string, len(conds))
	for i, c := range conds {
		parts[i] = fmt.Sprintf("(%d) %s", i+1, strings.TrimSpace(c))
	}
	return "Any of these holds: " + strings.Join(parts, "; ")
}

// advance judges the transitions of node n and enters the target of the
// first conditional transition that holds, or else the target of the
// transition without a condition. At a chat node, that transition holds
// only once the customer has replied at the node, so only when the node
// was entered in an earlier turn. When nothing holds, a node entered in
// an earlier turn is left with the routine (exited) if the routine's
// conditions no longer hold either: the customer changed the subject.
// The conditions are judged only on the conversation since the
// routine's latest activation (see [routineWalk.runTranscript]), so a
// routine that starts again does not reuse the answers of its earlier
// run. It reports whether the walk moved.
func (w *routineWalk) advance(ctx context.Context, p *prompt, r *routine.Routine, n *manifest.Node) bool {
	earlier := !w.pos.enteredThisTurn
	conds, targets, fallback := transitionConditions(n)
	if n.Kind() == manifest.NodeChat && !earlier {
		fallback = ""
	}
	if len(conds) == 0 && fallback != "" {
		return w.move(r, n, fallback)
	}
	def := r.Definition()
	checkExit := earlier && len(def.Conditions) > 0
	if len(conds) == 0 && !checkExit {
		return false
	}
	if checkExit {
		conds = append(conds, condition{id: routineApplies, text: "The customer still pursues this: " + conditionText(def.Conditions)})
	}
	holds := w.judge(ctx, "routine transition", conds, "", w.runTranscript(p, r))
	if holds == nil && checkExit {
		// A failed judgement keeps the routine where it is.
		return false
	}
	for _, c := range conds {
		if _, ok := holds[c.id]; ok && c.id != routineApplies {
			return w.move(r, n, targets[c.id])
		}
	}
	if fallback != "" {
		return w.move(r, n, fallback)
	}
	if _, ok := holds[routineApplies]; checkExit && !ok {
		w.exit("the customer changed the subject")
		return true
	}
	w.log.Debug("no transition holds; staying at the node", "routine_id", r.ID(), "node_id", n.ID)
	return false
}

// runTranscript renders the conversation since the latest activation of
// r: the customer messages that activated it, and every message after
// them, including those that this turn added to p.
func (w *routineWalk) runTranscript(p *prompt, r *routine.Routine) string {
	start := w.current
	if w.activatedID != r.ID() {
		start = -1
		if ev, ok := activation(w.history, r.ID()); ok {
			start = turnStart(w.history, ev.Offset, ev.TurnID)
		}
	}
	var run []store.Event
	for _, ev := range w.history {
		if ev.Offset > start {
			run = append(run, ev)
		}
	}
	msgs := conversation(run)
	if w.base >= 0 && w.base <= len(p.turns) {
		msgs = append(msgs, p.turns[w.base:]...)
	}
	return renderTranscript(msgs, w.set.evalBudget)
}

// move enters node to of r from node from, unless this turn entered to
// already. In that case the transitions form a cycle, and the routine
// exits with a reason that names it. So a turn writes a bounded number of
// entered events, and a cycle without an exit does not keep the session
// in the routine on every later turn.
func (w *routineWalk) move(r *routine.Routine, from *manifest.Node, to string) bool {
	if w.entered[r.ID()+"/"+to] {
		cycle := w.cycle(r, to)
		w.log.Warn("routine transitions form a cycle within one turn; exiting the routine",
			"routine_id", r.ID(), "node_id", from.ID, "target_node_id", to, "cycle", cycle)
		w.exit("the transitions form a cycle " + cycle + " within one turn")
		return true
	}
	w.enter(r, to)
	return true
}

// cycle renders the nodes of r entered in this turn from node to onwards,
// then to again, as "a -> b -> a".
func (w *routineWalk) cycle(r *routine.Routine, to string) string {
	var nodes []string
	for _, key := range w.path {
		routineID, node, _ := strings.Cut(key, "/")
		if routineID != r.ID() {
			continue
		}
		if node == to {
			nodes = nodes[:0]
		}
		nodes = append(nodes, node)
	}
	return strings.Join(append(nodes, to), " -> ")
}

// toolStep runs the tools of tool node n unless each has a result since
// the node was entered, then advances. A node with no transitions
// completes the routine. When no transition holds, the walk stays at the
// node without running its tools again.
func (w *routineWalk) toolStep(ctx context.Context, p *prompt, r *routine.Routine, n *manifest.Node) (more, ranTools bool, err error) {
	if !w.pos.toolsDone {
		if err := w.flush(ctx); err != nil {
			return false, false, err
		}
		if err := w.runTools(ctx, p, r, n); err != nil {
			return false, false, err
		}
		w.pos.toolsDone = true
		ranTools = true
	}
	if len(n.Transitions) == 0 {
		w.complete()
		return true, ranTools, nil
	}
	return w.advance(ctx, p, r, n), ranTools, nil
}

// runTools runs tool node n with the routine executor. The calls are
// appended as tool_call and tool_result events and added to the
// conversation of the reply. A node that fails is logged and counts as
// run, so the walk goes on to its transitions.
func (w *routineWalk) runTools(ctx context.Context, p *prompt, r *routine.Routine, n *manifest.Node) error {
	input, err := json.Marshal(map[string]string{"conversation": renderTranscript(p.turns, w.set.evalBudget)})
	if err != nil {
		return fmt.Errorf("encoding the input of routine %q node %q: %w", r.ID(), n.ID, err)
	}
	obs := &toolObserver{w: w, ctx: ctx, p: p}
	x := routine.Executor{
		Chat:          w.e.chat,
		Evaluation:    w.e.cfg.Evaluation,
		Tools:         w.e.cfg.Tools,
		MaxIterations: w.e.cfg.Manifest.AgentConfig.Runtime.MaxEngineIterations,
		SystemPrompt: strings.TrimSpace(p.system) + "\n\nThis step runs inside a conversation with a customer, who does not read this exchange. " +
			"The run's input holds the conversation so far: take the tool arguments from it.",
		Logger:    w.log,
		Observer:  obs,
		Telemetry: w.e.tel,
	}
	if x.Tools == nil {
		x.Tools, _ = tool.NewRegistry()
	}
	st := &routine.State{Input: input, Outputs: w.outputs, Node: n.ID}
	err = x.RunNode(ctx, r, st)
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if obs.err != nil {
		return obs.err
	}
	if err != nil {
		w.log.Warn("routine tool node failed; going on to its transitions", "routine_id", r.ID(), "node_id", n.ID, "error", err)
	}
	return nil
}

// toolObserver stores the tool calls of a tool node as events and adds
// them to the conversation of the reply.
type toolObserver struct {
	w   *routineWalk
	ctx context.Context
	p   *prompt

	mu  sync.Mutex
	err error
}

func (o *toolObserver) NodeEntered(string) {}

// ToolCalled appends the call and its result as one pair of events. A
// call that the end of the turn cut off is stored with code timeout,
// written with a context detached from the turn's.
func (o *toolObserver) ToolCalled(name string, args json.RawMessage, res tool.Result, callErr error) {
	ctx := o.ctx
	callID := ids.New("call_")
	result := Payload{CallID: callID, Tool: name}
	switch {
	case o.ctx.Err() != nil:
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(o.ctx), toolResultWriteTimeout)
		defer cancel()
		result.Error = &EventError{Code: ToolErrorTimeout, Message: "the turn ended during the call"}
	case callErr != nil:
		result.Error = &EventError{Code: ToolErrorFailed, Message: callErr.Error()}
	case res.IsError:
		result.Result = res.Content
		result.Error = &EventError{Code: ToolErrorFailed, Message: "the tool reported an error"}
	default:
		result.Result = res.Content
	}
	events := []store.NewEvent{
		newEvent(KindToolCall, o.w.turnID, Payload{CallID: callID, Tool: name, Arguments: args}),
		newEvent(KindToolResult, o.w.turnID, result),
	}
	_, err := o.w.e.store.Append(ctx, o.w.sid, events, store.AppendOptions{})

	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil {
		o.err = fmt.Errorf("appending routine tool call: %w", err)
		if o.ctx.Err() != nil {
			o.w.log.Error("appending routine tool call failed", "routine_id", o.w.pos.routine.ID(), "node_id", o.w.pos.node, "tool", name, "error", err)
		}
		return
	}
	call := llms.ToolCall{ID: callID, Type: "function", FunctionCall: &llms.FunctionCall{Name: name, Arguments: string(args)}}
	o.p.turns = append(o.p.turns, llm.ToolCallMessages(call, resultText(result))...)
}

// transitionConditions returns the conditional transitions of n as
// conditions with ids "to_<target>" (a second transition to the same
// target adds "_2", and so on), the target of each id, and the target of
// the transition without a condition ("" when none).
func transitionConditions(n *manifest.Node) ([]condition, map[string]string, string) {
	var conds []condition
	targets := map[string]string{}
	fallback := ""
	for _, t := range n.Transitions {
		if strings.TrimSpace(t.Condition) == "" {
			fallback = t.To
			continue
		}
		id := "to_" + t.To
		for k := 2; targets[id] != ""; k++ {
			id = fmt.Sprintf("to_%s_%d", t.To, k)
		}
		targets[id] = t.To
		conds = append(conds, condition{id: id, text: t.Condition})
	}
	return conds, targets, fallback
}

// enter moves the walk to node of r and records an entered event. A
// node without transitions other than a tool node completes the routine
// at once; a tool node completes after its tools ran.
func (w *routineWalk) enter(r *routine.Routine, node string) {
	w.pending = append(w.pending, routineEvent(w.turnID, r.ID(), node, RoutineEntered))
	w.pos = routinePosition{routine: r, node: node, enteredThisTurn: true, results: map[string]bool{}}
	w.entered[r.ID()+"/"+node] = true
	w.path = append(w.path, r.ID()+"/"+node)
	w.reply, w.replyNode = r, node
	w.log.Info("routine node entered", "routine_id", r.ID(), "node_id", node)
	n := nodeOf(r, node)
	if len(n.Transitions) == 0 && n.Kind() != manifest.NodeTool {
		if n.Kind() != manifest.NodeChat {
			w.reply = nil
		}
		w.complete()
	}
}

// complete records that the active routine reached its end.
func (w *routineWalk) complete() {
	r := w.pos.routine
	w.pending = append(w.pending, routineEvent(w.turnID, r.ID(), w.pos.node, RoutineCompleted))
	w.log.Info("routine completed", "routine_id", r.ID(), "node_id", w.pos.node)
	if w.reply != nil && nodeOf(r, w.replyNode).Kind() != manifest.NodeChat {
		w.reply = nil
	}
	w.done[r.ID()] = true
	w.pos = routinePosition{}
}

// exit records that the session left the active routine before its end.
func (w *routineWalk) exit(reason string) {
	r := w.pos.routine
	exited := Payload{RoutineID: r.ID(), NodeID: w.pos.node, State: RoutineExited, Reason: reason}
	w.pending = append(w.pending, newEvent(KindRoutine, w.turnID, exited))
	w.log.Info("routine exited", "routine_id", r.ID(), "node_id", w.pos.node, "reason", reason)
	w.done[r.ID()] = true
	w.pos = routinePosition{}
	w.reply = nil
}

// flush appends the pending routine events.
func (w *routineWalk) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	if _, err := w.e.store.Append(ctx, w.sid, w.pending, store.AppendOptions{}); err != nil {
		return fmt.Errorf("appending routine events: %w", err)
	}
	w.pending = nil
	return nil
}

// unwritten returns the routine events that the turn's completion
// writes.
func (w *routineWalk) unwritten() []store.NewEvent {
	if w == nil {
		return nil
	}
	return w.pending
}

// nodeTools returns the tools of the current node when it is a tool
// node, for tool_access guided.
func (w *routineWalk) nodeTools() []string {
	if w == nil || w.pos.routine == nil {
		return nil
	}
	n := nodeOf(w.pos.routine, w.pos.node)
	if n.Kind() != manifest.NodeTool {
		return nil
	}
	return n.Tools
}

// section returns the routine's part of the system message: the routine,
// the current node's instruction and the text of the node's macros. It
// returns "" when no routine node applies to the reply.
func (w *routineWalk) section() string {
	if w == nil || w.reply == nil {
		return ""
	}
	return routineSection(w.reply.Definition(), w.replyNode, w.set.macros)
}

// routineSection renders the instruction of node of def for the reply,
// with the text of the node's macros.
func routineSection(def manifest.Routine, node string, macros map[string]manifest.Macro) string {
	n := def.Node(node)
	if n == nil {
		return ""
	}
	var b strings.Builder
	title := strings.TrimSpace(def.Title)
	if title == "" {
		title = def.ID
	}
	fmt.Fprintf(&b, "You are guiding the customer through the routine %q.", title)
	if d := strings.TrimSpace(def.Description); d != "" {
		b.WriteString(" " + d)
	}
	switch n.Kind() {
	case manifest.NodeChat:
		fmt.Fprintf(&b, "\nCurrent step (%s): %s", n.ID, strings.TrimSpace(n.ChatState))
	case manifest.NodeTool:
		fmt.Fprintf(&b, "\nCurrent step (%s): the tools %s ran; their results are in the conversation.", n.ID, strings.Join(n.Tools, ", "))
	default:
		fmt.Fprintf(&b, "\nCurrent step: %s.", n.ID)
	}
	var texts []string
	for _, id := range n.Macros {
		if m, ok := macros[id]; ok {
			texts = append(texts, strings.TrimSpace(m.Text))
		}
	}
	if len(texts) > 0 {
		b.WriteString("\nApproved wording for this step. Reply with it, changing only the details that the conversation fills in:")
		for _, t := range texts {
			b.WriteString("\n- " + t)
		}
	}
	return b.String()
}

// routineEvent returns a routine event of the given state.
func routineEvent(turnID, routineID, node, state string) store.NewEvent {
	return newEvent(KindRoutine, turnID, Payload{RoutineID: routineID, NodeID: node, State: state})
}

// nodeOf returns the node of r with the given id, or nil.
func nodeOf(r *routine.Routine, id string) *manifest.Node {
	def := r.Definition()
	return def.Node(id)
}

// uniqueTools returns tools without repeats.
func uniqueTools(tools []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tools {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
