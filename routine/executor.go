package routine

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/tmc/langchaingo/llms"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

// DefaultMaxIterations is the default of [Executor.MaxIterations].
const DefaultMaxIterations = 5

// visitsPerNode bounds a run's node visits: a run may visit at most
// visitsPerNode times as many nodes as the routine has, which stops a
// cycle of transitions whose conditions keep holding.
const visitsPerNode = 4

// Executor runs autonomous routines: it walks the node graph from the
// entry node, calling the models and tools each node needs, until a node
// emits the output. It does not depend on HTTP or on a store. An Executor is
// safe for concurrent use once its fields are set; copy it to change a
// field for one run.
type Executor struct {
	// Chat is the model of tool nodes. Required.
	Chat llms.Model
	// Evaluation is the model of think nodes and of the choice between
	// conditional transitions. Default: Chat.
	Evaluation llms.Model
	// Tools holds the tools that tool nodes call. A node whose tool is
	// missing at run time fails the run with code tool_error.
	Tools *tool.Registry
	// MaxIterations bounds the model calls of each node, and of each
	// choice of a transition, repairs and re-prompts included. Default
	// [DefaultMaxIterations].
	MaxIterations int
	// SystemPrompt starts the system message of every model call.
	SystemPrompt string
	// Logger receives node entries (debug level) and tool failures
	// (warning level). Give each run a copy of the Executor whose Logger
	// carries the run's id. Default slog.Default().
	Logger *slog.Logger
	// Observer, when set, receives each node entered and each tool call,
	// for tracing and progress reports. Default: none.
	Observer Observer
	// Telemetry receives a span per node and per tool call, and the
	// tool call metrics. Default: spans go to the global OpenTelemetry
	// provider and no metrics are recorded.
	Telemetry *telemetry.Telemetry
}

// Observer receives the progress of a run. Its methods are called from
// the goroutine of the run, except ToolCalled, which is called from the
// tool call's own goroutine when a model calls several tools at once.
type Observer interface {
	// NodeEntered is called before a node runs.
	NodeEntered(node string)
	// ToolCalled is called after each tool call with the arguments as
	// the model sent them (normalized to {} when empty) and the tool's
	// result. err is non-nil when the call failed before or inside the
	// tool.
	ToolCalled(name string, args json.RawMessage, result tool.Result, err error)
}

// State is the progress of one run, which [Executor.Step] reads and
// updates.
type State struct {
	// Input is the run's input.
	Input json.RawMessage
	// Outputs holds the output of each node that produced one, by node
	// id: the JSON reply of a think node, and the tool calls of a tool node
	// as a JSON array of {tool, arguments, result or error}.
	Outputs map[string]json.RawMessage
	// Node is the id of the node to run next; "" once the routine ended.
	Node string
	// Visits counts the nodes run so far.
	Visits int
	// Output is the output that built-in:emit_output accepted, or nil.
	Output json.RawMessage
}

// NewState returns the state of a run of r with input, about to enter
// r's entry node.
func NewState(r *Routine, input json.RawMessage) *State {
	return &State{Input: input, Outputs: make(map[string]json.RawMessage), Node: r.def.Entry}
}

// Run runs the autonomous routine r with input and returns the output
// that a node emitted with built-in:emit_output, byte for byte as the
// model wrote it. Input is validated against r's input schema first, and
// invalid input fails with internal_error, because callers validate it
// with [Routine.ValidateInput] before a run starts.
//
// A run that cannot succeed returns a *[Failure]. When ctx ends, Run
// returns context.Cause(ctx) unwrapped, so context.DeadlineExceeded and
// context.Canceled (or the cause given to the cancel function) reach the
// caller as they are.
//
// A routine ends when a node emits the output, or when a node without
// transitions finishes. A terminal node whose model never emits fails
// the run with iteration_limit or output_validation_failed. A run that
// ends without output otherwise fails with code internal_error, because
// Compile accepts only autonomous routines whose terminal nodes emit.
func (x *Executor) Run(ctx context.Context, r *Routine, input json.RawMessage) (json.RawMessage, error) {
	if !r.Autonomous() {
		return nil, failf(CodeInternalError, "routine %q is not autonomous: add an autonomous block to run it", r.ID())
	}
	if vs := r.ValidateInput(input); len(vs) > 0 {
		return nil, failf(CodeInternalError, "routine %q: the input does not validate against the input schema: %s", r.ID(), formatViolations(vs))
	}
	st := NewState(r, input)
	last := st.Node
	for st.Node != "" {
		last = st.Node
		if err := x.Step(ctx, r, st); err != nil {
			return nil, err
		}
	}
	if st.Output == nil {
		return nil, failf(CodeInternalError, "routine %q ended at node %q without output: the node has no transitions and did not call %s", r.ID(), last, manifest.EmitOutputTool)
	}
	return st.Output, nil
}

// Step runs the node st.Node and moves st to the next node. It stores
// the node's output in st.Outputs and sets st.Output when the node
// emitted the output. Then it sets st.Node to the next node, or to ""
// when the routine ended. A node that emits the output ends the routine,
// even when it has transitions. Errors are as [Executor.Run] describes.
func (x *Executor) Step(ctx context.Context, r *Routine, st *State) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	n, ok := r.nodes[st.Node]
	if !ok {
		return failf(CodeInternalError, "routine %q has no node %q", r.ID(), st.Node)
	}
	if limit := visitsPerNode * len(r.nodes); st.Visits >= limit {
		return failf(CodeIterationLimit, "routine %q visited %d nodes without finishing, the limit for %d nodes: check its transitions for a cycle", r.ID(), st.Visits, len(r.nodes))
	}
	st.Visits++
	if st.Outputs == nil {
		st.Outputs = make(map[string]json.RawMessage)
	}
	attrs := append(telemetry.IDsFrom(ctx).Attributes(),
		attribute.String(telemetry.AttrRoutineID, r.ID()),
		attribute.String("agentry.routine.node", n.ID),
		attribute.String("agentry.routine.node_kind", n.Kind()),
		attribute.Int("agentry.routine.visit", st.Visits),
	)
	ctx, span := x.Telemetry.Start(ctx, "routine.node", attrs...)
	defer span.End()
	err := x.step(ctx, r, n, st)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "routine node failed")
		return err
	}
	span.SetAttributes(attribute.String("agentry.routine.next_node", st.Node))
	return nil
}

// step runs node n and sets st.Node to the node that follows it.
func (x *Executor) step(ctx context.Context, r *Routine, n *manifest.Node, st *State) error {
	x.logger().Debug("routine node entered", "routine_id", r.ID(), "node_id", n.ID, "kind", n.Kind(), "visit", st.Visits)
	if x.Observer != nil {
		x.Observer.NodeEntered(n.ID)
	}

	if err := x.work(ctx, r, n, st); err != nil {
		return err
	}
	if st.Output != nil {
		st.Node = ""
		return nil
	}
	next, err := x.next(ctx, r, n, st)
	if err != nil {
		return err
	}
	st.Node = next
	return nil
}

// work does the work of node n: a think node's reply, a tool node's
// calls, nothing for a route node. A chat node fails, because it needs a
// customer.
func (x *Executor) work(ctx context.Context, r *Routine, n *manifest.Node, st *State) error {
	switch n.Kind() {
	case manifest.NodeThink:
		return x.think(ctx, r, n, st)
	case manifest.NodeTool:
		return x.toolNode(ctx, r, n, st)
	case manifest.NodeRoute:
		return nil
	case manifest.NodeChat:
		return failf(CodeInternalError, "routine %q: node %q is a chat node, which needs a customer: an autonomous run cannot enter it", r.ID(), n.ID)
	}
	return failf(CodeInternalError, "routine %q: node %q has unknown kind %q", r.ID(), n.ID, n.Kind())
}

// RunNode does the work of the node st.Node, as [Executor.Step] does,
// but leaves st.Node and st.Visits unchanged, so the caller chooses the
// next node itself. The conversational engine uses it for tool nodes,
// whose transitions it judges against the conversation. The node's
// output goes to st.Outputs; errors are as [Executor.Run] describes.
func (x *Executor) RunNode(ctx context.Context, r *Routine, st *State) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	n, ok := r.nodes[st.Node]
	if !ok {
		return failf(CodeInternalError, "routine %q has no node %q", r.ID(), st.Node)
	}
	if st.Outputs == nil {
		st.Outputs = make(map[string]json.RawMessage)
	}
	attrs := append(telemetry.IDsFrom(ctx).Attributes(),
		attribute.String(telemetry.AttrRoutineID, r.ID()),
		attribute.String("agentry.routine.node", n.ID),
		attribute.String("agentry.routine.node_kind", n.Kind()),
	)
	ctx, span := x.Telemetry.Start(ctx, "routine.node", attrs...)
	defer span.End()
	x.logger().Debug("routine node run", "routine_id", r.ID(), "node_id", n.ID, "kind", n.Kind())
	if x.Observer != nil {
		x.Observer.NodeEntered(n.ID)
	}
	if err := x.work(ctx, r, n, st); err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "routine node failed")
		return err
	}
	return nil
}

func (x *Executor) logger() *slog.Logger {
	if x.Logger != nil {
		return x.Logger
	}
	return slog.Default()
}

func (x *Executor) maxIterations() int {
	if x.MaxIterations > 0 {
		return x.MaxIterations
	}
	return DefaultMaxIterations
}

// evaluation returns the model of think nodes and transitions.
func (x *Executor) evaluation() llms.Model {
	if x.Evaluation != nil {
		return x.Evaluation
	}
	return x.Chat
}
