// Package routine compiles routines and runs autonomous ones.
//
// [Compile] turns a manifest routine into a [Routine]: its schemas are
// compiled once, its tool references are checked, and its output schema
// is tightened so that emitted output cannot carry properties the schema
// does not define. Schemas follow JSON Schema draft 2020-12 with format
// assertion on, for trigger input and emitted output alike: a string
// whose "format" is a known one (email, date-time, date, uuid, ipv4, uri
// and the others of github.com/santhosh-tekuri/jsonschema/v5) must match
// it. A schema may refer only to itself ("#/$defs/..."), never to files
// or URLs. JSON is decoded with UseNumber, so 9007199254740993 keeps its
// last digit and 1.0 and 1e2 are integers.
//
// An [Executor] runs an autonomous routine from its input to its output,
// without HTTP or a store. It walks the node graph from the entry node:
//
//   - a think node requests JSON that validates against the node's
//     output schema from the evaluation model, and repairs invalid
//     replies;
//   - a tool node lets the chat model call the node's tools in a loop,
//     and ends the run when built-in:emit_output accepts the output;
//   - a route node only leads on;
//   - a chat node needs a customer and fails the run.
//
// After each node, a single unconditional transition is taken directly,
// and a choice between conditions is made by the evaluation model. A run
// that cannot succeed returns a [*Failure] with a code such as
// iteration_limit; a run whose context ends returns the context's error.
// [Executor.Step] runs one node on a [State], for callers that drive the
// graph themselves.
//
// Tool calls reach the model as langchaingo transcripts in the shape every
// provider accepts: one call per assistant message, followed by its own
// result message. Failures are stated in the result text, because the
// langchaingo v0.1.14 clients have no error flag for tool results.
package routine
