// Package manifest loads and validates agent manifests: YAML files that
// configure one agent (its id and name, the runtime block with the API
// key, the model lanes and providers, and the prompt context).
//
// A minimal manifest:
//
//	id: support
//	name: Support agent
//	agent_config:
//	  runtime:
//	    api_key: ${AGENTRY_API_KEY}
//	  llms:
//	    default: openai/gpt-4o-mini
//	    providers:
//	      openai:
//	        api_key: ${OPENAI_API_KEY}
//
// [Load] and [Parse] run these steps and report every problem they find
// in one *[ValidationError], each with its YAML path and line: first the
// manifest's problems, sorted by line, then those of each routine file,
// which name the file ("agent_config.context.routines[1]
// (routines/kyc.yaml line 4): ...").
//
//  1. Parse the YAML (at most [MaxSize] bytes, one document) into nodes.
//  2. Convert the nodes into JSON values. A key given twice is an error.
//     Aliases and merge keys ("<<") are expanded, but at most 10000 values
//     and 4 MiB of scalars in total, so nested aliases fail fast.
//     Scalars follow YAML 1.2: NO, on and yes are strings and only true and
//     false are booleans. A plain number or boolean where the schema expects
//     a string keeps its source text, so `version: 1.10` is "1.10".
//  3. Expand ${NAME} and ${NAME:-default} in string values (never in keys,
//     and never in numbers or booleans, so max_engine_iterations: ${N} is a
//     type error). The default applies when NAME is unset or empty; $${
//     writes a literal ${. An unset variable without a default is an error
//     naming it. Because expansion happens after parsing, a variable's
//     value is always one string and never YAML.
//  4. Replace each string entry of context.routines with the routine in
//     the YAML file it names, relative to the manifest's directory. The
//     file is parsed, converted and expanded as in steps 1 to 3, within
//     the same value budget, and its values take YAML paths under the
//     entry.
//  5. Run the checks that need more than one value, files or the
//     environment. Model ids are provider/model with a known provider
//     (anthropic, googleai, ollama, openai, scripted), and the hosted
//     platform's router model interactive/agent is rejected. A used openai
//     provider needs an api_key or a base_url, and anthropic and googleai
//     need an api_key. Scripted models other than scripted/demo need a rule
//     file in providers.scripted.script. A system_prompt sets exactly one
//     of text and file, and the file must exist. Signing secrets are
//     "whsec_" and base64. Variable names are unique and default values
//     match their type. The id, name, api_key, llms.default and prompt
//     text must not be blank, and log_level is debug, info, warn or error
//     in any case. The outbound settings are checked as their fields
//     document. Routines are checked as described below.
//  6. Validate against [Schema], the JSON Schema generated from the Go
//     types. Unknown keys are errors, with a suggestion for near misses.
//  7. Decode into [Manifest], read the system prompt file, lower-case
//     log_level and apply the defaults of [Manifest.ApplyDefaults].
//
// # Routines
//
// Routine ids are unique, and node ids are unique within a routine. The
// entry and every transition's target name a node of the routine. Each
// node has exactly one kind ([Node.Kind]): chat (chat_state), tool (tools
// and an optional tool_instruction), think (think and output_schema, in
// autonomous routines only) or route (only transitions). At most one
// transition of a node has no condition. Tool references are
// "namespace:name". Of the built-in namespace only [EmitOutputTool]
// exists, and only autonomous routines may use it. Every node without
// transitions in an autonomous routine is a tool node that lists it.
// A reference into an MCP server with a tools allow-list must name a
// listed tool. Other references are resolved by the server when it
// starts, from [Manifest.ToolReferences].
//
// An autonomous block needs input_schema and output_schema, and every
// think node needs an output_schema. Each must compile with
// [CompileJSONSchema] (JSON Schema draft 2020-12, local references only).
// A callback_url is an absolute http or https URL whose host
// [MatchHost] finds in callback_url_allowlist, when that list is set.
//
// # Webhooks
//
// Each entry of agent_config.webhooks has a unique name and starts the
// autonomous routine that its routine key names; a conversational routine
// is rejected. The secret must not be blank, and for the standard scheme
// (the default) it is "whsec_" and base64; messages never show it. The
// hmac-sha256 scheme needs header, and only it may set header, prefix and
// encoding. Tolerance applies to the standard and stripe schemes, which
// sign a timestamp, and lies in (0, 1h]. Input is "body" or a JSON
// pointer (RFC 6901). A callback_url is an absolute http or https URL
// whose host the routine's callback_url_allowlist allows, when it has
// one. [Manifest.Webhook] finds an entry by name.
//
// # MCP servers
//
// Each entry of agent_config.mcps has a unique id, which is the namespace
// of the server's tools ("crm:find_customer") and must not be "built-in".
// The HTTP transports (streamable-http, the default, and sse) take exactly
// one of url, an absolute http or https URL without credentials, and
// hostname with port, from which [MCP.Endpoint] builds the URL. They may
// set api_key, sent as a bearer token, and headers, with valid names and
// without control characters in values, but not both api_key and an
// Authorization header. Only the stdio transport takes command
// (required), args and env. A tools allow-list names the server's tools
// without the namespace, each once, and a routine tool reference into a
// server that has one must name a listed tool. Timeout lies in (0, 10m]
// and defaults to 30s. [Manifest.MCP] finds an entry by id.
//
// The keys endpoint, secrets and agent_config.interactive_platform are
// read only by the hosted Interactive Agents platform. They are accepted
// so that its manifests load, left unchecked and unexpanded, and listed in
// [Manifest.Warnings].
//
// Relative file paths resolve against [Manifest.Dir]: the manifest file's
// directory for Load, the working directory for Parse, or the directory
// given with [WithDir]. [ParseDefault] parses the built-in demo manifest
// of [DefaultYAML].
package manifest
