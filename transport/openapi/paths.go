package openapi

import "net/http"

// idPattern is the alphabet of ids chosen by callers and of server ids.
const idPattern = `^[A-Za-z0-9_-]{1,64}$`

// Tags group the operations.
const (
	tagHealth    = "health"
	tagAuth      = "auth"
	tagCustomers = "customers"
	tagSessions  = "sessions"
	tagEvents    = "events"
	tagRoutines  = "routines"
	tagRuns      = "runs"
	tagWebhooks  = "webhooks"
	tagUI        = "ui"
	tagMeta      = "meta"
)

// noAuth is the security of an operation that needs no credentials.
var noAuth = &[]securityRequirement{}

func pathParam(name, description string) parameter {
	return parameter{Name: name, In: "path", Required: true, Description: description,
		Schema: map[string]any{"type": "string", "pattern": idPattern}}
}

var (
	customerID = pathParam("id", "The customer's id, chosen by the caller.")
	sessionID  = pathParam("id", "The session's id.")
	routineID  = pathParam("id", "The routine's id in the manifest.")
	runID      = pathParam("run_id", "The run's id, as returned by the trigger.")
)

// waitParam is the wait query parameter of long-polling operations.
func waitParam(description string) parameter {
	return parameter{Name: "wait", In: "query", Description: description,
		Schema: map[string]any{"type": "number", "minimum": 0}}
}

func jsonRequest(description, name string, required bool) *requestBody {
	return &requestBody{Description: description, Required: required,
		Content: map[string]mediaType{"application/json": {Schema: ref(name)}}}
}

// extraSchemas are the component schemas that have no Go type.
func extraSchemas() map[string]any {
	return map[string]any{
		"LoginRequest": map[string]any{
			"type":                 "object",
			"properties":           map[string]any{"api_key": map[string]any{"type": "string", "minLength": 1}},
			"required":             []any{"api_key"},
			"additionalProperties": false,
		},
		"LoginResult": map[string]any{
			"type":       "object",
			"properties": map[string]any{"expires_at": map[string]any{"type": "string", "format": "date-time"}},
			"required":   []any{"expires_at"},
		},
		"MergePatch": map[string]any{
			"type":                 "object",
			"description":          "Keys to merge into the stored object. A null value deletes the key.",
			"additionalProperties": true,
		},
	}
}

// Status codes that most operations share. Operations that need
// credentials get 401 and 403 in build.
var (
	readErrors  = []int{http.StatusBadRequest, http.StatusNotFound, http.StatusInternalServerError, http.StatusServiceUnavailable}
	writeErrors = []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusInternalServerError, http.StatusServiceUnavailable}
)

func with(codes []int, more ...int) []int {
	return append(append([]int(nil), codes...), more...)
}

// operations is every route of the server. A test checks it against the
// patterns the server registers, in both directions.
var operations = []operation{
	{method: "GET", path: "/health", OperationID: "getHealth", Tags: []string{tagHealth}, Security: noAuth,
		Summary:   "Report that the process serves HTTP",
		Responses: responses(map[int]response{200: jsonResponse("The process is live.", "Health")})},
	{method: "GET", path: "/health/live", OperationID: "getHealthLive", Tags: []string{tagHealth}, Security: noAuth,
		Summary:   "Report that the process serves HTTP",
		Responses: responses(map[int]response{200: jsonResponse("The process is live.", "Health")})},
	{method: "GET", path: "/health/ready", OperationID: "getHealthReady", Tags: []string{tagHealth}, Security: noAuth,
		Summary: "Report whether the server can take traffic",
		Description: "503 until start-up has finished and while the store is unreachable. Each dependency's state is in checks; " +
			"an optional dependency that is down, such as an MCP server, shows as degraded and keeps the status 200.",
		Responses: responses(map[int]response{
			200: jsonResponse("Ready.", "Health"),
			503: jsonResponse("Not ready: start-up has not finished or the store is down.", "Health"),
		})},

	{method: "POST", path: "/auth/login", OperationID: "login", Tags: []string{tagAuth}, Security: noAuth,
		Summary: "Log in with the API key and get the agent_auth cookie",
		Description: "For the chat page. On a match the response sets the agent_auth cookie (HttpOnly, SameSite=Strict), which then " +
			"authenticates every operation like the bearer token. A wrong key is 401 and sets no cookie. A cross-site request is 403.",
		RequestBody: &requestBody{Description: "The API key, as a form field or a JSON member.", Required: true,
			Content: map[string]mediaType{
				"application/x-www-form-urlencoded": {Schema: ref("LoginRequest")},
				"application/json":                  {Schema: ref("LoginRequest")},
			}},
		Responses: responses(map[int]response{
			200: {Description: "Logged in.",
				Headers: map[string]header{"Set-Cookie": {Description: "agent_auth=<token>, valid until expires_at.", Schema: stringSchema()}},
				Content: map[string]mediaType{"application/json": {Schema: ref("LoginResult")}}},
		}, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)},
	{method: "POST", path: "/auth/logout", OperationID: "logout", Tags: []string{tagAuth}, Security: noAuth,
		Summary:     "Clear the agent_auth cookie",
		Description: "Needs no credentials. The token is not stored on the server, so a copy of it stays valid until it expires.",
		Responses: responses(map[int]response{
			204: {Description: "The cookie is cleared.",
				Headers: map[string]header{"Set-Cookie": {Description: "agent_auth with Max-Age=0.", Schema: stringSchema()}}},
		}, http.StatusForbidden)},

	{method: "GET", path: "/ui", OperationID: "redirectToChatPage", Tags: []string{tagUI}, Security: noAuth,
		Summary: "Redirect to the chat page",
		Responses: responses(map[int]response{301: {Description: "Moved to ui/, relative to this path.",
			Headers: map[string]header{"Location": {Description: "ui/", Schema: stringSchema()}}}})},
	{method: "GET", path: "/ui/", OperationID: "getChatPage", Tags: []string{tagUI}, Security: noAuth,
		Summary: "Get the built-in chat page and its static files",
		Description: "Serves index.html at /ui/ and the page's other files below it, all embedded in the binary. The files need no credentials; " +
			"the page logs in with POST /auth/login and calls the API with the agent_auth cookie.",
		Responses: responses(map[int]response{
			200: {Description: "The file: HTML, CSS, JavaScript or an image.",
				Content: map[string]mediaType{"text/html": {Schema: stringSchema()}}},
			404: {Description: "No file has this path. The body is plain text."},
		})},

	{method: "PUT", path: "/customers/{id}", OperationID: "putCustomer", Tags: []string{tagCustomers},
		Summary:     "Create or replace a customer",
		Parameters:  []parameter{customerID},
		RequestBody: jsonRequest("The customer's fields. The body may be empty.", "PutCustomerRequest", false),
		Responses: responses(map[int]response{
			200: jsonResponse("The customer existed and was replaced.", "Customer"),
			201: jsonResponse("The customer was created.", "Customer"),
		}, with(writeErrors)...)},
	{method: "GET", path: "/customers/{id}", OperationID: "getCustomer", Tags: []string{tagCustomers},
		Summary:    "Get a customer",
		Parameters: []parameter{customerID},
		Responses:  responses(map[int]response{200: jsonResponse("The customer.", "Customer")}, readErrors...)},
	{method: "PATCH", path: "/customers/{id}/variables", OperationID: "mergeCustomerVariables", Tags: []string{tagCustomers},
		Summary:     "Merge keys into a customer's variables",
		Parameters:  []parameter{customerID},
		RequestBody: jsonRequest("The keys to merge; null deletes a key.", "MergePatch", true),
		Responses:   responses(map[int]response{200: jsonResponse("The updated customer.", "Customer")}, writeErrors...)},
	{method: "PATCH", path: "/customers/{id}/metadata", OperationID: "mergeCustomerMetadata", Tags: []string{tagCustomers},
		Summary:     "Merge keys into a customer's metadata",
		Parameters:  []parameter{customerID},
		RequestBody: jsonRequest("The keys to merge; null deletes a key.", "MergePatch", true),
		Responses:   responses(map[int]response{200: jsonResponse("The updated customer.", "Customer")}, writeErrors...)},

	{method: "POST", path: "/sessions", OperationID: "createSession", Tags: []string{tagSessions},
		Summary:     "Open a session",
		Description: "With the id of an existing session, returns it (200) and changes nothing, so opening is idempotent. The id of a deleted session cannot be reused (409).",
		RequestBody: jsonRequest("Every field is optional, and so is the body.", "CreateSessionRequest", false),
		Responses: responses(map[int]response{
			200: jsonResponse("A session with this id exists.", "Session"),
			201: jsonResponse("The session was created.", "Session"),
		}, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusInternalServerError, http.StatusServiceUnavailable)},
	{method: "GET", path: "/sessions", OperationID: "listSessions", Tags: []string{tagSessions},
		Summary: "List sessions",
		Parameters: []parameter{
			{Name: "customer_id", In: "query", Description: "Only the sessions of this customer.",
				Schema: map[string]any{"type": "string", "pattern": idPattern}},
			{Name: "limit", In: "query", Description: "Sessions per page. Default 50.",
				Schema: map[string]any{"type": "integer", "minimum": 1, "maximum": 1000}},
			{Name: "cursor", In: "query", Description: "The next_cursor of the previous page.", Schema: stringSchema()},
		},
		Responses: responses(map[int]response{200: jsonResponse("A page of sessions.", "SessionList")},
			http.StatusBadRequest, http.StatusInternalServerError, http.StatusServiceUnavailable)},
	{method: "GET", path: "/sessions/{id}", OperationID: "getSession", Tags: []string{tagSessions},
		Summary:     "Get a session",
		Description: "Includes the delivery state of the event webhook and of each sink.",
		Parameters:  []parameter{sessionID},
		Responses:   responses(map[int]response{200: jsonResponse("The session.", "Session")}, readErrors...)},
	{method: "PATCH", path: "/sessions/{id}", OperationID: "patchSession", Tags: []string{tagSessions},
		Summary:     "Change a session's mode, webhook URL, variables or metadata",
		Description: "Setting mode to manual hands the session to a human agent: the agent stays silent. A change of webhook_url resumes a paused delivery.",
		Parameters:  []parameter{sessionID},
		RequestBody: jsonRequest("Absent fields stay unchanged.", "PatchSessionRequest", true),
		Responses:   responses(map[int]response{200: jsonResponse("The updated session.", "Session")}, writeErrors...)},
	{method: "DELETE", path: "/sessions/{id}", OperationID: "deleteSession", Tags: []string{tagSessions},
		Summary:    "Delete a session and its events",
		Parameters: []parameter{sessionID},
		Responses:  responses(map[int]response{204: {Description: "Deleted. The id cannot be used again."}}, readErrors...)},
	{method: "POST", path: "/sessions/{id}/messages", OperationID: "postMessage", Tags: []string{tagSessions},
		Summary:     "Post a message to a session",
		Description: "Returns the stored user_message event. The agent's reply arrives as later events.",
		Parameters:  []parameter{sessionID},
		RequestBody: jsonRequest("The message.", "PostMessageRequest", true),
		Responses: responses(map[int]response{201: jsonResponse("The stored user_message event.", "UserMessageEvent")},
			with(writeErrors, http.StatusConflict)...)},
	{method: "GET", path: "/sessions/{id}/events", OperationID: "listEvents", Tags: []string{tagEvents},
		Summary: "Long-poll or stream a session's events",
		Description: "As JSON, returns at once when events at or past min_offset exist and otherwise waits up to wait seconds, " +
			"then returns 200 with no events, never a gateway timeout. Resume with min_offset set to next_offset. " +
			"With Accept: text/event-stream the response is a Server-Sent Events stream: each frame's id is the event's offset, " +
			"its event field the kind and its data the Event JSON, and a comment line is sent as heartbeat every 15 s by default.",
		Parameters: []parameter{
			sessionID,
			{Name: "min_offset", In: "query", Description: "The first offset to return. Default 0. Past the session's next offset is 400.",
				Schema: map[string]any{"type": "integer", "minimum": 0}},
			{Name: "kinds", In: "query", Description: "Comma-separated event kinds to return; other events are skipped but still advance next_offset.",
				Schema: stringSchema()},
			waitParam("Seconds to wait for a first event. Default 30, clamped to runtime.long_poll_max_wait (60 s by default)."),
			{Name: "limit", In: "query", Description: "Events to scan at most. Default 100; larger values are clamped to 1000.",
				Schema: map[string]any{"type": "integer", "minimum": 1}},
			{Name: "Last-Event-ID", In: "header", Description: "For SSE: the offset of the last event received. It wins over min_offset, and the stream resumes after it.",
				Schema: map[string]any{"type": "string", "pattern": `^[0-9]+$`}},
		},
		Responses: responses(map[int]response{200: {
			Description: "A page of events, or an event stream when the request accepts text/event-stream.",
			Content: map[string]mediaType{
				"application/json": {Schema: ref("EventPage")},
				"text/event-stream": {Schema: map[string]any{
					"type":        "string",
					"description": "Frames of id (the offset), event (the kind) and data (the Event as JSON), and heartbeat comments.",
				}},
			},
		}}, readErrors...)},
	{method: "POST", path: "/sessions/{id}/cancel", OperationID: "cancelTurn", Tags: []string{tagSessions},
		Summary:     "Cancel the session's pending or running turn",
		Description: "The turn ends with status cancelled, then ready.",
		Parameters:  []parameter{sessionID},
		Responses:   responses(map[int]response{200: jsonResponse("Whether a turn was cancelled.", "CancelResult")}, readErrors...)},
	{method: "POST", path: "/sessions/{id}/tool_events", OperationID: "postToolEvent", Tags: []string{tagSessions},
		Summary:     "Inject external context as a tool result",
		Description: "Stores a tool_result event with injected true. The model sees it on the next turn; it starts no turn itself.",
		Parameters:  []parameter{sessionID},
		RequestBody: jsonRequest("The tool name and result.", "ToolEventRequest", true),
		Responses:   responses(map[int]response{201: jsonResponse("The stored tool_result event.", "ToolResultEvent")}, writeErrors...)},
	{method: "POST", path: "/sessions/{id}/redeliver", OperationID: "redeliverEvents", Tags: []string{tagSessions},
		Summary:     "Resume the session's paused event deliveries",
		Description: "Deliveries start again at once from the event that failed.",
		Parameters:  []parameter{sessionID},
		Responses:   responses(map[int]response{202: jsonResponse("The session with its delivery states.", "Session")}, readErrors...)},

	{method: "GET", path: "/routines", OperationID: "listRoutines", Tags: []string{tagRoutines},
		Summary:   "List the autonomous routines",
		Responses: responses(map[int]response{200: jsonResponse("The routines, sorted by id.", "RoutineList")})},
	{method: "GET", path: "/routines/{id}", OperationID: "getRoutine", Tags: []string{tagRoutines},
		Summary:    "Get an autonomous routine with its input and output schemas",
		Parameters: []parameter{routineID},
		Responses: responses(map[int]response{200: jsonResponse("The routine.", "Routine")},
			http.StatusNotFound)},
	{method: "POST", path: "/routines/{id}/trigger", OperationID: "triggerRoutine", Tags: []string{tagRoutines},
		Summary: "Start a run of an autonomous routine",
		Description: "A repeated idempotency key with the same input returns the first run (200); with a different input it is 409. " +
			"The input must validate against the routine's input schema (422 lists every violation).",
		Parameters: []parameter{routineID, {Name: "Idempotency-Key", In: "header",
			Description: "Same as the body's idempotency_key; send one of them.",
			Schema:      map[string]any{"type": "string", "pattern": idPattern}}},
		RequestBody: jsonRequest("The run's input and options.", "TriggerRequest", true),
		Responses: responses(map[int]response{
			200: jsonResponse("A run with this idempotency key exists.", "TriggerResponse"),
			202: jsonResponse("The run was queued.", "TriggerResponse"),
		}, with(writeErrors, http.StatusConflict)...)},
	{method: "GET", path: "/runs/{run_id}", OperationID: "getRun", Tags: []string{tagRuns},
		Summary:    "Get a run's status, output and callback state",
		Parameters: []parameter{runID, waitParam("Seconds to wait for the run to end, at most 60. Default 0: return at once.")},
		Responses:  responses(map[int]response{200: jsonResponse("The run.", "Run")}, readErrors...)},
	{method: "POST", path: "/runs/{run_id}/cancel", OperationID: "cancelRun", Tags: []string{tagRuns},
		Summary:     "Cancel a queued or running run",
		Description: "The run ends as failed with error code cancelled. A run that has ended is returned unchanged.",
		Parameters:  []parameter{runID},
		Responses:   responses(map[int]response{200: jsonResponse("The run.", "Run")}, readErrors...)},
	{method: "POST", path: "/runs/{run_id}/redeliver", OperationID: "redeliverRun", Tags: []string{tagRuns},
		Summary:     "Send a run's callback again",
		Description: "409 when the run has not ended or has no callback URL.",
		Parameters:  []parameter{runID},
		Responses: responses(map[int]response{202: jsonResponse("The run, with its callback pending.", "Run")},
			with(readErrors, http.StatusConflict)...)},

	{method: "POST", path: "/webhooks/{name}", OperationID: "receiveWebhook", Tags: []string{tagWebhooks}, Security: noAuth,
		Summary: "Start a run from a signed third-party webhook",
		Description: "The body is authenticated by its HMAC signature, in the headers that the webhook's signature scheme in the manifest names. " +
			"A delivery id seen before returns its run and starts nothing (200). An unknown name is 404 with the same body as any other.",
		Parameters: []parameter{{Name: "name", In: "path", Required: true, Description: "The webhook's name in the manifest.", Schema: stringSchema()}},
		RequestBody: &requestBody{Description: "The third party's JSON payload; the webhook's input pointer selects the run's input.", Required: true,
			Content: map[string]mediaType{"application/json": {Schema: map[string]any{}}}},
		Responses: responses(map[int]response{
			200: jsonResponse("The delivery was seen before; its run.", "WebhookAccepted"),
			202: jsonResponse("A run was queued.", "WebhookAccepted"),
			401: {Description: "The signature is missing, wrong or too old. The body is empty."},
		}, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge,
			http.StatusUnprocessableEntity, http.StatusInternalServerError, http.StatusServiceUnavailable)},

	{method: "GET", path: "/openapi.json", OperationID: "getOpenAPI", Tags: []string{tagMeta}, Security: noAuth,
		Summary:   "Get this OpenAPI document",
		Responses: responses(map[int]response{200: {Description: "The OpenAPI 3.1 document.", Content: map[string]mediaType{"application/json": {Schema: map[string]any{"type": "object"}}}}})},

	{method: "GET", path: "/metrics", OperationID: "getMetrics", Tags: []string{tagMeta},
		Summary: "Get the server's metrics in the Prometheus text format",
		Description: "Counters and histograms of turns, model calls, tool calls, runs, deliveries and store calls, the requests waiting for events, " +
			"and the spans dropped on the way to the trace backend. Needs the API key unless runtime.metrics_public is true.",
		Responses: responses(map[int]response{200: {Description: "The metrics in the Prometheus text exposition format 0.0.4.",
			Content: map[string]mediaType{"text/plain": {Schema: stringSchema()}}}}, http.StatusNotFound)},
}
