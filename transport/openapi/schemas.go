package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/agentry/agentry/transport/wire"
)

// schemaRef is the prefix of a reference to a component schema.
const schemaRef = "#/components/schemas/"

// wireTypes are the types whose schemas the document publishes, with the
// types they refer to. Event is not listed because addEventSchemas
// splits it by kind.
var wireTypes = []any{
	wire.ErrorBody{},
	wire.Customer{},
	wire.PutCustomerRequest{},
	wire.Session{},
	wire.CreateSessionRequest{},
	wire.PatchSessionRequest{},
	wire.SessionList{},
	wire.PostMessageRequest{},
	wire.EventPage{},
	wire.CancelResult{},
	wire.Health{},
	wire.ToolEventRequest{},
	wire.RoutineList{},
	wire.TriggerRequest{},
	wire.TriggerResponse{},
	wire.Run{},
	wire.RunCallback{},
	wire.WebhookAccepted{},
}

// requestTypes are the request bodies. The server rejects unknown fields
// in them, so their schemas set additionalProperties to false. Response
// schemas leave it open, so that a new field is not a breaking change.
var requestTypes = map[string]bool{
	"PutCustomerRequest":   true,
	"CreateSessionRequest": true,
	"PatchSessionRequest":  true,
	"PostMessageRequest":   true,
	"ToolEventRequest":     true,
	"TriggerRequest":       true,
}

// eventKind lists the fields of one event kind, in addition to the fields
// every event has, and which of them the server always writes.
type eventKind struct {
	kind        string
	schema      string
	description string
	fields      []string
	required    []string
}

// eventKinds follows wire.Event.MarshalJSON and the engine: a field is
// required when the server writes it for every event of the kind.
var eventKinds = []eventKind{
	{wire.KindUserMessage, "UserMessageEvent", "A message from the customer or a human agent.",
		[]string{"text", "source", "metadata"}, []string{"text"}},
	{wire.KindAgentMessage, "AgentMessageEvent", "A reply of the agent, with the knowledge base chunks placed in the prompt for it.",
		[]string{"text", "citations"}, []string{"text", "citations"}},
	{wire.KindStatus, "StatusEvent", "A change of the turn's status. Each turn ends with exactly one status ready. The error field is set when status is error.",
		[]string{"status", "error"}, []string{"status"}},
	{wire.KindToolCall, "ToolCallEvent", "A tool call that the model made.",
		[]string{"call_id", "tool", "arguments"}, []string{"call_id", "tool", "arguments"}},
	{wire.KindToolResult, "ToolResultEvent", "The result of a tool call, or external context posted to tool_events (injected true). The error field is set when the call failed.",
		[]string{"call_id", "tool", "result", "error", "injected"}, []string{"call_id", "tool", "result", "injected"}},
	{wire.KindRoutine, "RoutineEvent", "A step of a routine: a node was entered, completed or exited.",
		[]string{"routine_id", "node_id", "state"}, nil},
	{wire.KindMode, "ModeEvent", "A change of the session's mode.",
		[]string{"mode", "reason"}, []string{"mode"}},
}

// commonEventFields are the fields of every event, all of them written
// except turn_id, which only events of a turn have.
var commonEventFields = []string{"session_id", "offset", "kind", "created_at", "turn_id"}

// componentSchemas generates the schemas of the wire types from their Go
// definitions, with references rewritten to point into
// components.schemas.
func componentSchemas() (map[string]any, error) {
	r := &jsonschema.Reflector{AllowAdditionalProperties: true}
	defs := jsonschema.Definitions{}
	for _, v := range append(wireTypes, wire.Event{}) {
		s := r.Reflect(v)
		for name, def := range s.Definitions {
			defs[name] = def
		}
	}
	data, err := json.Marshal(defs)
	if err != nil {
		return nil, fmt.Errorf("openapi: encode generated schemas: %w", err)
	}
	var schemas map[string]any
	if err := json.Unmarshal(data, &schemas); err != nil {
		return nil, fmt.Errorf("openapi: decode generated schemas: %w", err)
	}
	rewriteRefs(schemas)
	for name := range requestTypes {
		s, ok := schemas[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("openapi: no schema was generated for request type %s", name)
		}
		s["additionalProperties"] = false
	}
	if err := addEventSchemas(schemas); err != nil {
		return nil, err
	}
	return schemas, nil
}

// rewriteRefs points every "#/$defs/Name" reference under v at
// "#/components/schemas/Name", where the document keeps the definitions.
func rewriteRefs(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if ref, ok := child.(string); ok && k == "$ref" {
				v[k] = schemaRef + strings.TrimPrefix(ref, "#/$defs/")
				continue
			}
			rewriteRefs(child)
		}
	case []any:
		for _, child := range v {
			rewriteRefs(child)
		}
	}
}

// addEventSchemas replaces the flat Event schema with one schema per kind,
// each with a const kind, and an Event schema that is their oneOf with a
// discriminator on kind. Properties come from the generated flat schema.
func addEventSchemas(schemas map[string]any) error {
	flat, ok := schemas["Event"].(map[string]any)
	if !ok {
		return fmt.Errorf("openapi: no schema was generated for wire.Event")
	}
	props, _ := flat["properties"].(map[string]any)
	if err := checkEventFields(props); err != nil {
		return err
	}
	var oneOf []any
	mapping := map[string]any{}
	for _, k := range eventKinds {
		p := map[string]any{}
		for _, name := range commonEventFields {
			p[name] = props[name]
		}
		p["kind"] = map[string]any{"type": "string", "const": k.kind}
		for _, name := range k.fields {
			p[name] = props[name]
		}
		required := []any{"session_id", "offset", "kind", "created_at"}
		for _, name := range k.required {
			required = append(required, name)
		}
		schemas[k.schema] = map[string]any{
			"type":        "object",
			"description": k.description + " Clients must ignore fields they do not know.",
			"properties":  p,
			"required":    required,
		}
		ref := schemaRef + k.schema
		oneOf = append(oneOf, map[string]any{"$ref": ref})
		mapping[k.kind] = ref
	}
	schemas["Event"] = map[string]any{
		"description": "One entry of a session's log, as returned by long-poll and SSE and POSTed by the event webhook. " +
			"Fields are flat and depend on kind. Clients must ignore kinds and fields they do not know.",
		"oneOf":         oneOf,
		"discriminator": map[string]any{"propertyName": "kind", "mapping": mapping},
	}
	return nil
}

// checkEventFields fails when a field named in eventKinds is missing from
// wire.Event or a field of wire.Event belongs to no kind, so that a change
// to the Go type cannot leave the published schemas behind.
func checkEventFields(props map[string]any) error {
	used := map[string]bool{}
	for _, name := range commonEventFields {
		used[name] = true
	}
	for _, k := range eventKinds {
		for _, name := range k.fields {
			used[name] = true
		}
	}
	for name := range used {
		if _, ok := props[name]; !ok {
			return fmt.Errorf("openapi: event field %q is not a field of wire.Event", name)
		}
	}
	t := reflect.TypeFor[wire.Event]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if !used[name] {
			return fmt.Errorf("openapi: wire.Event field %q belongs to no event kind; add it to eventKinds", name)
		}
	}
	return nil
}
