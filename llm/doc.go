// Package llm builds the model lanes of an agent from the manifest's llms
// block, on top of langchaingo (v0.1.14).
//
// A [Lane] is a primary model and its fallbacks behind the llms.Model
// interface. [New] builds two: the chat lane, which writes replies, and
// the evaluation lane, which matches policies and produces structured
// output. Model ids are "provider/model":
//
//   - openai/<model>: OpenAI or any OpenAI-compatible server (base_url).
//   - anthropic/<model>: Anthropic's messages API; base_url includes /v1.
//   - ollama/<model>: Ollama's OpenAI-compatible API, by default at
//     http://127.0.0.1:11434/v1.
//   - scripted/demo and scripted/<name>: the deterministic models of
//     package llm/scripted.
//
// googleai is not part of this build; [Options.Providers] adds it or any
// other provider.
//
// # Calls, retries and fallbacks
//
// Each model call runs under the provider's timeout (default 60s). A
// response with status 429 or 5xx is retried up to max_retries times
// (default 2), after the Retry-After the provider sent or else with
// exponential backoff and jitter. A Retry-After longer than a minute or
// past the call's deadline fails the call instead of waiting. The retries happen in the
// HTTP client's transport, because the langchaingo clients do not expose
// the status or headers of a failed response. When a model fails for any
// reason, the lane tries the next one; when the caller's context ends,
// the lane returns at once.
//
// # Tool names
//
// Providers accept tool names matching ^[a-zA-Z0-9_-]{1,64}$, while the
// agent names tools "ns:name". A Lane maps the names of offered tools and
// of the calls and results in the transcript to provider names
// ([ToProviderName]: "ns:name" becomes "ns__name"), and maps the calls in
// the reply back, so a caller of a Lane uses "ns:name" only.
//
// # Transcripts
//
// The langchaingo v0.1.14 clients have quirks that shape the transcript:
//
//   - The Anthropic client returns one choice per content block: use
//     [Flatten] or [Lane.Generate] to combine them.
//   - The Anthropic client sends only the first part of an AI or tool
//     message: replay each tool call with [ToolCallMessages], one call and
//     one result per pair of messages.
//   - The Anthropic client reads only the first part of a system message
//     and joins several system messages without a separator: send the
//     system prompt as one system message with one text part.
//   - Arguments "" and "null" break replays; the Lane and Flatten turn
//     them into "{}".
//   - llms.CountTokens downloads tokenizer files; use [EstimateTokens].
//   - Store whole llms.MessageContent values: a bare llms.ToolCall
//     decoded from JSON loses its function.
package llm
