// Package agent is the conversational engine: it replies to the customer
// messages of each session in the background, one turn at a time.
//
// # Turns
//
// Posting a customer message to a session in auto mode appends a
// user_message event that marks the session as needing a turn, and wakes
// the [Engine]. The engine claims the session's turn lease in the store, so
// one process at a time replies in a session even when several share the
// store, and then writes:
//
//  1. status acknowledged, then processing;
//  2. status typing, while the chat lane generates the reply from the
//     system prompt, the language directive, the variables and the history;
//  3. the reply as agent_message and status ready, in one store call that
//     also records the messages as answered.
//
// A model failure ends the turn with status error (code model_error or
// timeout) and ready; a cancellation with status cancelled and ready. Each
// turn ends with exactly one status ready.
//
// Turns run at least once: if a process dies mid-turn, its lease expires
// and a sweep in any process re-runs the turn. Because the reply and the
// move of the processed offset are written together, a re-run never posts
// a reply twice. The re-run keeps the turn id of the status events the
// dead turn left, so that turn still ends with one status ready; its
// acknowledged and processing statuses may then appear twice.
//
// # Double texting
//
// A customer message that arrives while a turn runs is handled per
// runtime.double_texting: interrupt (the default) cancels the model call
// and restarts the turn with every unanswered message, keeping its
// turn_id; enqueue answers it in the next turn; reject refuses it with
// [ErrTurnBusy].
//
// # Variables and metadata
//
// Variables of the session and of its customer are shown to the model in
// the system message. Metadata, of sessions, customers and messages, never
// is: the prompt is assembled in one place (prompt.go) from an explicit
// list of fields.
package agent
