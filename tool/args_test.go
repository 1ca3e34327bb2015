package tool

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// customerSchema is the schema of a tool with parameters, as an MCP
// server would list it.
const customerSchema = `{
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "age": {"type": "integer", "minimum": 0},
    "address": {
      "type": "object",
      "properties": {"city": {"type": "string"}},
      "required": ["city"]
    }
  },
  "required": ["name"],
  "additionalProperties": false
}`

// noParamsSchema is the schema of a tool without parameters.
const noParamsSchema = `{"type":"object","properties":{}}`

func TestValidateArgs(t *testing.T) {
	customer := schemaTool{name: "crm:create", schema: customerSchema}
	noParams := schemaTool{name: "clock:now", schema: noParamsSchema}
	cases := []struct {
		name     string
		tool     Tool
		args     string
		wantArgs string // "" means args unchanged
		path     string // path of the only violation; "-" for none
		msg      string
	}{
		{"empty", noParams, ``, `{}`, "-", ""},
		{"null", noParams, `null`, `{}`, "-", ""},
		{"whitespace", noParams, " \n\t", `{}`, "-", ""},
		{"empty string", noParams, `""`, `{}`, "-", ""},
		{"blank string", noParams, `" "`, `{}`, "-", ""},
		{"empty object", noParams, `{}`, "", "-", ""},
		{"valid", customer, `{"name":"Ada","age":36,"address":{"city":"London"}}`, "", "-", ""},
		{"integer as float", customer, `{"name":"Ada","age":36.0}`, "", "-", ""},
		{"invalid JSON", customer, `{"name":`, "", "", "invalid JSON"},
		{"trailing data", customer, `{"name":"Ada"} x`, "", "", "invalid JSON"},
		{"array", customer, `[{"name":"Ada"}]`, "", "", "must be a JSON object, not an array"},
		{"string", customer, `"Ada"`, "", "", "must be a JSON object, not a string"},
		{"number", customer, `7`, "", "", "must be a JSON object, not a number"},
		{"null with required", customer, `null`, `{}`, "", "missing properties: 'name'"},
		{"wrong type", customer, `{"name":"Ada","age":"36"}`, "", "/age", "expected integer, but got string"},
		{"fraction", customer, `{"name":"Ada","age":36.5}`, "", "/age", "expected integer, but got number"},
		{"below minimum", customer, `{"name":"Ada","age":-1}`, "", "/age", "must be >= 0"},
		{"missing required", customer, `{"age":36}`, "", "", "missing properties: 'name'"},
		{"nested missing", customer, `{"name":"Ada","address":{}}`, "", "/address", "missing properties: 'city'"},
		{"extra property", customer, `{"name":"Ada","phone":"1"}`, "", "", "additionalProperties 'phone' not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args, vs := ValidateArgs(c.tool, json.RawMessage(c.args))
			want := c.wantArgs
			if want == "" {
				want = c.args
			}
			if string(args) != want {
				t.Errorf("args = %q, want %q", args, want)
			}
			if c.path == "-" {
				if len(vs) != 0 {
					t.Errorf("violations %v, want none", vs)
				}
				return
			}
			if len(vs) != 1 {
				t.Fatalf("violations %v, want one at %q", vs, c.path)
			}
			if vs[0].Path != c.path {
				t.Errorf("path %q, want %q", vs[0].Path, c.path)
			}
			if !strings.Contains(vs[0].Message, c.msg) {
				t.Errorf("message %q, want it to contain %q", vs[0].Message, c.msg)
			}
		})
	}
}

func TestValidateArgsSeveral(t *testing.T) {
	customer := schemaTool{name: "crm:create", schema: customerSchema}
	_, vs := ValidateArgs(customer, json.RawMessage(`{"age":"x","phone":"1"}`))
	if len(vs) != 3 {
		t.Fatalf("violations %v, want 3: missing name, extra phone, wrong age", vs)
	}
	// Sorted by path: the object's two violations, then /age.
	if vs[0].Path != "" || vs[1].Path != "" || vs[2].Path != "/age" {
		t.Errorf("paths %q, %q, %q; want \"\", \"\", \"/age\"", vs[0].Path, vs[1].Path, vs[2].Path)
	}
}

func TestValidateArgsNoSchema(t *testing.T) {
	for _, schema := range []string{``, `null`, ` `} {
		tl := schemaTool{name: "misc:any", schema: schema}
		if _, vs := ValidateArgs(tl, json.RawMessage(`{"anything":[1,2]}`)); len(vs) != 0 {
			t.Errorf("schema %q: violations %v for an object, want none", schema, vs)
		}
		if _, vs := ValidateArgs(tl, json.RawMessage(`[1]`)); len(vs) != 1 {
			t.Errorf("schema %q: violations %v for an array, want one", schema, vs)
		}
		if err := SchemaError(tl); err != nil {
			t.Errorf("schema %q: SchemaError = %v, want nil", schema, err)
		}
	}
}

func TestValidateArgsDraft7(t *testing.T) {
	tl := schemaTool{name: "crm:old", schema: `{
	  "$schema": "http://json-schema.org/draft-07/schema#",
	  "type": "object",
	  "properties": {"ids": {"type": "array", "items": [{"type": "integer"}]}}
	}`}
	if err := SchemaError(tl); err != nil {
		t.Fatalf("SchemaError: %v", err)
	}
	_, vs := ValidateArgs(tl, json.RawMessage(`{"ids":["a"]}`))
	if len(vs) != 1 || vs[0].Path != "/ids/0" {
		t.Errorf("violations %v, want one at /ids/0 (draft-07 tuple items)", vs)
	}
}

func TestValidateArgsBrokenSchema(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.json")
	if err := os.WriteFile(secret, []byte(`{"type":"string"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, schema, msg string }{
		{"lookahead pattern", `{"type":"object","properties":{"a":{"type":"string","pattern":"^(?=x)"}}}`, "pattern"},
		{"file reference", `{"type":"object","properties":{"a":{"$ref":"file://` + secret + `"}}}`, "never loaded"},
		{"remote reference", `{"type":"object","properties":{"a":{"$ref":"http://127.0.0.1:1/s.json"}}}`, "never loaded"},
		{"bad type", `{"type":"objekt"}`, "meta-schema"},
		{"not JSON", `{"type":`, "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tl := schemaTool{name: "mcp:broken", schema: c.schema}
			args, vs := ValidateArgs(tl, json.RawMessage(`{"a":5}`))
			if len(vs) != 0 {
				t.Errorf("violations %v, want none so the call goes ahead", vs)
			}
			if string(args) != `{"a":5}` {
				t.Errorf("args = %s, want them unchanged", args)
			}
			err := SchemaError(tl)
			if !errors.Is(err, ErrInvalidSchema) {
				t.Fatalf("SchemaError = %v, want ErrInvalidSchema", err)
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "mcp:broken") {
				t.Errorf("SchemaError = %q, want the tool name and %q", err, c.msg)
			}
			if strings.Contains(err.Error(), schemaURL) {
				t.Errorf("SchemaError = %q names the internal resource", err)
			}
		})
	}
}

func TestValidateArgsCache(t *testing.T) {
	a := compiledSchema(json.RawMessage(customerSchema))
	b := compiledSchema(json.RawMessage(customerSchema))
	if a.schema == nil || a.schema != b.schema {
		t.Errorf("the same schema compiled twice: %p, %p", a.schema, b.schema)
	}
}

func TestArgumentsError(t *testing.T) {
	err := error(&ArgumentsError{Tool: "crm:create", Violations: []Violation{
		{Path: "", Message: "missing properties: 'name'"},
		{Path: "/age", Message: "expected integer, but got string"},
	}})
	if !errors.Is(err, ErrInvalidArguments) {
		t.Error("errors.Is(err, ErrInvalidArguments) = false")
	}
	want := "invalid arguments for tool crm:create: /: missing properties: 'name'; /age: expected integer, but got string; call it again with arguments that match its schema"
	if err.Error() != want {
		t.Errorf("Error() = %q\nwant %q", err, want)
	}
}
