package transport

import (
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/transport/wire"
)

// toolNamePattern is the form of an injected event's tool name: a name,
// optionally with a namespace ("crm:export").
var toolNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_.-]{1,64})?$`)

// postToolEvent stores external context as an injected tool_result. The
// next turn shows it to the model, and it starts no turn itself.
func (s *Server) postToolEvent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "session")
	if err != nil {
		return err
	}
	var req wire.ToolEventRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var details []wire.FieldDetail
	if !toolNamePattern.MatchString(req.Tool) {
		details = append(details, wire.FieldDetail{Path: "/tool", Message: `must be a tool name such as "crm:export": letters, digits, '_' and '-', with an optional namespace`})
	}
	if len(req.Result) == 0 {
		details = append(details, wire.FieldDetail{Path: "/result", Message: "missing: send the tool's result as any JSON value"})
	}
	if len(req.Arguments) > 0 && string(req.Arguments) != "null" && !isJSONObject(req.Arguments) {
		details = append(details, wire.FieldDetail{Path: "/arguments", Message: "must be a JSON object"})
	}
	if len(details) > 0 {
		return invalid(details...)
	}
	if string(req.Arguments) == "null" {
		req.Arguments = nil
	}
	ev, err := s.engine.InjectToolEvent(r.Context(), id, agent.ToolEvent{Tool: req.Tool, Arguments: req.Arguments, Result: req.Result})
	if err != nil {
		return sessionErr(err, id)
	}
	out, err := toWireEvent(ev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func isJSONObject(raw json.RawMessage) bool {
	var obj map[string]json.RawMessage
	return json.Unmarshal(raw, &obj) == nil && obj != nil
}
