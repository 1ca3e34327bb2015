// Package mcp connects agentry to Model Context Protocol servers and
// offers their tools to the agent as [tool.Tool] values.
//
// [NewManager] takes the manifest's mcps[] entries and connects to every
// server in parallel, over streamable-http (the default), sse or stdio,
// using mark3labs/mcp-go. Each server's tools are named "<id>:<tool>"
// ("crm:lookup"); an entry's tools list, when set, admits only the tools
// it names. [Manager.Register] makes each [Server] the source of its id's
// namespace in a [tool.Registry], which asks the server for its current
// tools on every lookup. A server that is down at start is retried in the
// background with backoff, and its tools appear in the registry as soon
// as it connects. A server's tools are also replaced when it sends
// notifications/tools/list_changed and when the periodic health check
// lists different ones.
// [Manager.Status] reports each server as "ok" or "degraded: <reason>" for
// a readiness check.
//
// HTTP transports send the entry's headers and, when api_key is set,
// "Authorization: Bearer <api_key>", through an outbound.NewTrusted
// client, because the URLs come from the operator. A stdio server is
// started with the entry's command, args and env. Of agentry's own
// environment it inherits only PATH, HOME and a few other variables that
// programs commonly need (see inheritedEnv), so API keys stay out of it.
//
// A call runs within the entry's timeout (default 30s). A call may find
// the connection or session gone: a streamable-http server responds with
// 404 or 400 to the old Mcp-Session-Id, the sse stream dropped, or the
// stdio process exited. It then reconnects without the old session id,
// lists the tools again and retries once. A call that times out keeps the
// connection.
//
// A tool's result reaches the model as a [tool.Result]: the structured
// content when the server sent one, otherwise the text items joined, or
// all items as a JSON array when any is not text; isError sets
// Result.IsError. A JSON-RPC error, a timeout or an unreachable server is
// the call's error instead, which the model also sees.
package mcp
