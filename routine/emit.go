package routine

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/internal/strictjson"
	"github.com/agentry/agentry/manifest"
)

// emitArgsSchema is the argument schema of built-in:emit_output. The
// output travels as a JSON string rather than an object, so the model
// writes it as text and integers beyond 2^53 reach the run unchanged.
const emitArgsSchema = `{
  "type": "object",
  "properties": {
    "output_json": {
      "type": "string",
      "description": "The routine's output written as JSON text, for example \"{\\\"approved\\\": true}\". It must validate against the output schema in the tool description."
    }
  },
  "required": ["output_json"],
  "additionalProperties": false
}`

// Codes in the results of built-in:emit_output.
const (
	emitErrorInvalidArguments = "invalid_arguments"
	emitErrorAlreadyEmitted   = "output_already_emitted"
)

var compiledEmitArgs = sync.OnceValue(func() *schema {
	s, err := compileSchema("tools/"+manifest.EmitOutputTool, json.RawMessage(emitArgsSchema))
	if err != nil {
		panic("routine: the built-in:emit_output argument schema does not compile: " + err.Error())
	}
	return s
})

// emitOutputTool returns built-in:emit_output as offered to the model of
// routine c: its description carries the tightened output schema.
func emitOutputTool(c *Routine) llms.Tool {
	return llms.Tool{
		Type: "function",
		Function: &llms.FunctionDefinition{
			Name: manifest.EmitOutputTool,
			Description: "Deliver the output of the routine and end the run. " +
				"Pass the output as a JSON string in output_json. The output must validate against this JSON Schema: " +
				string(c.OutputSchema()) +
				` The result is {"ok": true} on success, or {"ok": false, "error": ..., "details": [{"path", "message"}]}: fix the listed problems and call again.`,
			Parameters: json.RawMessage(emitArgsSchema),
		},
	}
}

// callResult is the result of a tool call that failed, or of any call of
// built-in:emit_output, as the model reads it.
type callResult struct {
	OK bool `json:"ok"`
	// Error is a code such as output_validation_failed.
	Error   string      `json:"error,omitempty"`
	Message string      `json:"message,omitempty"`
	Details []Violation `json:"details,omitempty"`
	// Content is the content of a result that the tool marked as an error.
	Content json.RawMessage `json:"content,omitempty"`
}

// text returns r as JSON text.
func (r callResult) text() string {
	b, err := json.Marshal(r)
	if err != nil {
		// A struct of strings and bools always marshals.
		return `{"ok": false, "error": "internal_error"}`
	}
	return string(b)
}

// emit runs built-in:emit_output with the arguments a model sent. On
// success it returns the output: the text of output_json with surrounding
// white space removed and otherwise byte for byte, never decoded and
// encoded again, so numbers keep every digit. Otherwise output is nil and
// result lists what to fix. A key written twice in the arguments or in the
// output fails the call, so raw text whose decoded value is ambiguous is
// never delivered.
func (c *Routine) emit(args string) (output json.RawMessage, result callResult) {
	v, err := decodeJSON([]byte(args))
	if errors.Is(err, strictjson.ErrDuplicateKey) {
		return nil, callResult{
			Error:   emitErrorInvalidArguments,
			Message: "the arguments contain a key more than once: send each key once, such as {\"output_json\": \"{...}\"}",
			Details: compiledEmitArgs().validate([]byte(args)),
		}
	}
	if err != nil {
		return nil, callResult{
			Error:   emitErrorInvalidArguments,
			Message: "the arguments are not valid JSON: send an object such as {\"output_json\": \"{...}\"}",
			Details: []Violation{{Path: "", Message: "is not valid JSON: " + err.Error()}},
		}
	}
	if vs := compiledEmitArgs().validateValue(v); len(vs) > 0 {
		return nil, callResult{
			Error:   emitErrorInvalidArguments,
			Message: "output_json must be a string that contains the output as JSON text",
			Details: vs,
		}
	}
	text := strings.TrimSpace(v.(map[string]any)["output_json"].(string))
	if c.output == nil {
		return nil, callResult{Error: "internal_error", Message: "the routine has no output schema"}
	}
	if vs := c.output.validate([]byte(text)); len(vs) > 0 {
		return nil, callResult{
			Error:   CodeOutputValidationFailed,
			Message: "the output does not validate against the output schema: fix the listed problems and call " + manifest.EmitOutputTool + " again",
			Details: vs,
		}
	}
	return json.RawMessage(text), callResult{OK: true}
}
