// Package scripted provides deterministic models that implement
// llms.Model, for tests, benchmarks and the offline demo. They return
// tool calls, which langchaingo's llms/fake cannot.
//
// The built-in demo ([DemoName], "scripted/demo") greets on the first
// reply or when greeted. It takes the customer's name from "my name is
// ..." earlier in the conversation, or else from the variables section of
// the system prompt (see [VariablesHeader]). It answers a request to be
// reminded of something ("what was my order number?") from earlier
// customer messages or the variables, and repeats any other message. It
// calls an offered tool when the customer's message names it or a keyword
// of its description, and puts a tool result into words. On the
// evaluation lane, and whenever JSON output is requested, it replies
// {"matches":[]}: no policy or routine condition holds.
//
// Any other name follows a [Script]: a YAML list of rules, each with
// conditions (`when`) and a `reply`. The first matching rule produces the
// reply, and a call that matches none fails with [ErrNoRule].
//
// # Tool names
//
// Through an llm.Lane the model sees provider tool names ("ns__name").
// Scripts write "ns:name"; rules compare names after the same mapping,
// and a tool call uses the name of the offered tool as the model received
// it, so the lane maps it back to "ns:name". Called directly with
// "ns:name" tools, the model returns "ns:name" too.
//
// A call does no I/O and little allocation unless a rule has a delay,
// so the models suit throughput benchmarks.
package scripted
