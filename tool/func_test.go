package tool

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

type address struct {
	City string `json:"city" jsonschema:"description=City name"`
	Zip  string `json:"zip,omitempty"`
}

type lookupArgs struct {
	Email   string         `json:"email" jsonschema:"description=Customer email,minLength=3"`
	Limit   int            `json:"limit,omitempty" jsonschema:"minimum=1,maximum=50"`
	Home    address        `json:"home"`
	Work    *address       `json:"work,omitempty"`
	Tags    []string       `json:"tags,omitempty"`
	Extra   any            `json:"extra,omitempty"`
	Options map[string]any `json:"options,omitempty"`
}

type lookupResult struct {
	Found bool   `json:"found"`
	Email string `json:"email"`
}

type treeArgs struct {
	Name     string     `json:"name"`
	Children []treeArgs `json:"children,omitempty"`
}

func lookupTool(t *testing.T) Tool {
	t.Helper()
	tl, err := Func("crm:lookup", "Find a customer by email.",
		func(_ context.Context, a lookupArgs) (lookupResult, error) {
			return lookupResult{Found: a.Home.City != "", Email: a.Email}, nil
		})
	if err != nil {
		t.Fatalf("Func: %v", err)
	}
	return tl
}

// schemaMap returns the schema of tl decoded.
func schemaMap(t *testing.T, tl Tool) map[string]any {
	t.Helper()
	m, ok := decodeJSON(t, tl.Schema()).(map[string]any)
	if !ok {
		t.Fatalf("schema %s is not an object", tl.Schema())
	}
	return m
}

func TestFuncSchema(t *testing.T) {
	tl := lookupTool(t)
	raw := string(tl.Schema())
	for _, key := range []string{"$ref", "$defs", "$schema", ":true"} {
		if strings.Contains(raw, key) {
			t.Errorf("schema contains %q: %s", key, raw)
		}
	}

	s := schemaMap(t, tl)
	if s["type"] != "object" {
		t.Errorf("type = %v, want object", s["type"])
	}
	if s["additionalProperties"] != false {
		t.Errorf("additionalProperties = %v, want false", s["additionalProperties"])
	}
	if got, want := s["required"], []any{"email", "home"}; !reflect.DeepEqual(got, want) {
		t.Errorf("required = %v, want %v", got, want)
	}
	props := s["properties"].(map[string]any)
	email := props["email"].(map[string]any)
	if email["description"] != "Customer email" {
		t.Errorf("email description = %v", email["description"])
	}
	if email["minLength"] != float64(3) {
		t.Errorf("email minLength = %v, want 3", email["minLength"])
	}
	home := props["home"].(map[string]any)
	if home["type"] != "object" || home["additionalProperties"] != false {
		t.Errorf("home is not an inlined closed object: %v", home)
	}
	if got, want := home["required"], []any{"city"}; !reflect.DeepEqual(got, want) {
		t.Errorf("home required = %v, want %v", got, want)
	}
	work := props["work"].(map[string]any)
	if work["properties"].(map[string]any)["city"] == nil {
		t.Errorf("work has no city property: %v", work)
	}
	if got := props["extra"]; !reflect.DeepEqual(got, map[string]any{}) {
		t.Errorf("extra = %v, want {}", got)
	}
}

func TestFuncSchemaEmptyArgs(t *testing.T) {
	tl, err := Func("clock:now", "Return the time.",
		func(context.Context, struct{}) (string, error) { return "noon", nil })
	if err != nil {
		t.Fatalf("Func: %v", err)
	}
	want := map[string]any{"type": "object", "properties": map[string]any{}}
	if got := decodeJSON(t, tl.Schema()); !reflect.DeepEqual(got, want) {
		t.Errorf("schema = %s, want {\"type\":\"object\",\"properties\":{}}", tl.Schema())
	}
	for _, args := range []string{``, `null`, `""`, " \n", `{}`, `{"unused":1}`} {
		res, err := tl.Call(context.Background(), json.RawMessage(args))
		if err != nil {
			t.Errorf("Call(%q): %v", args, err)
			continue
		}
		if string(res.Content) != `"noon"` {
			t.Errorf("Call(%q) content = %s, want \"noon\"", args, res.Content)
		}
	}
}

func TestFuncSchemaMap(t *testing.T) {
	tl, err := Func("kv:set", "Set values.",
		func(_ context.Context, a map[string]int) (int, error) { return len(a), nil })
	if err != nil {
		t.Fatalf("Func: %v", err)
	}
	s := schemaMap(t, tl)
	if s["type"] != "object" {
		t.Errorf("type = %v, want object", s["type"])
	}
	if _, ok := s["properties"]; !ok {
		t.Errorf("schema has no properties: %s", tl.Schema())
	}
	res, err := tl.Call(context.Background(), json.RawMessage(`{"a":1,"b":2}`))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if string(res.Content) != "2" {
		t.Errorf("content = %s, want 2", res.Content)
	}
}

func TestFuncSchemaRecursive(t *testing.T) {
	tl, err := Func("org:tree", "Store a tree.",
		func(_ context.Context, a treeArgs) (int, error) { return len(a.Children), nil })
	if err != nil {
		t.Fatalf("Func: %v", err)
	}
	s := schemaMap(t, tl)
	if s["type"] != "object" {
		t.Errorf("type = %v, want object", s["type"])
	}
	if _, ok := s["$defs"]; !ok {
		t.Errorf("recursive schema has no $defs: %s", tl.Schema())
	}
	if err := SchemaError(tl); err != nil {
		t.Fatalf("SchemaError: %v", err)
	}
	_, vs := ValidateArgs(tl, json.RawMessage(`{"name":"a","children":[{"name":"b","children":[{"nam":"c"}]}]}`))
	if len(vs) == 0 {
		t.Fatal("ValidateArgs found no violation in a nested child without name")
	}
	if !strings.HasPrefix(vs[0].Path, "/children/0/children/0") {
		t.Errorf("violation path = %q, want it under /children/0/children/0", vs[0].Path)
	}
}

func TestFuncErrors(t *testing.T) {
	ok := func(context.Context, lookupArgs) (string, error) { return "", nil }
	cases := []struct {
		name string
		make func() (Tool, error)
		want error
		msg  string
	}{
		{"no namespace", func() (Tool, error) { return Func("lookup", "d", ok) }, ErrInvalidName, "namespace:name"},
		{"space in name", func() (Tool, error) { return Func("a:b c", "d", ok) }, ErrInvalidName, "namespace:name"},
		{"blank description", func() (Tool, error) { return Func("crm:lookup", " ", ok) }, nil, "description is empty"},
		{"nil function", func() (Tool, error) {
			return Func[lookupArgs, string]("crm:lookup", "d", nil)
		}, nil, "function is nil"},
		{"scalar args", func() (Tool, error) {
			return Func("crm:count", "d", func(context.Context, int) (int, error) { return 0, nil })
		}, ErrInvalidSchema, "must be a struct"},
		{"slice args", func() (Tool, error) {
			return Func("crm:count", "d", func(context.Context, []string) (int, error) { return 0, nil })
		}, ErrInvalidSchema, "must be a struct"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tl, err := c.make()
			if err == nil {
				t.Fatalf("Func returned %v and no error", tl.Name())
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q, want it to contain %q", err, c.msg)
			}
		})
	}
}

func TestMustFuncPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustFunc did not panic on an invalid name")
		}
	}()
	MustFunc("no-namespace", "d", func(context.Context, struct{}) (int, error) { return 0, nil })
}

func TestFuncCall(t *testing.T) {
	tl := lookupTool(t)
	res, err := tl.Call(context.Background(), json.RawMessage(`{"email":"a@example.com","home":{"city":"Berlin"}}`))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if got, want := decodeJSON(t, res.Content), decodeJSON(t, []byte(`{"found":true,"email":"a@example.com"}`)); !reflect.DeepEqual(got, want) {
		t.Errorf("content = %s", res.Content)
	}
	if res.IsError {
		t.Error("IsError = true")
	}
}

func TestFuncCallRejects(t *testing.T) {
	tl := lookupTool(t)
	cases := []struct{ name, args, msg string }{
		{"unknown field", `{"email":"a@b.c","home":{},"phone":"1"}`, `unknown field "phone"`},
		{"nested unknown field", `{"email":"a@b.c","home":{"town":"x"}}`, `unknown field "town"`},
		{"wrong type", `{"email":5,"home":{}}`, "cannot unmarshal number"},
		{"trailing data", `{"email":"a@b.c","home":{}} {}`, "unexpected data after"},
		{"array", `[1]`, "cannot unmarshal array"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := tl.Call(context.Background(), json.RawMessage(c.args))
			if !errors.Is(err, ErrInvalidArguments) {
				t.Fatalf("error %v, want ErrInvalidArguments", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q, want it to contain %q", err, c.msg)
			}
		})
	}
}

func TestFuncCallNumbers(t *testing.T) {
	var got any
	tl := MustFunc("calc:keep", "Keep a value.", func(_ context.Context, a struct {
		Value any `json:"value"`
	}) (any, error) {
		got = a.Value
		return a.Value, nil
	})
	res, err := tl.Call(context.Background(), json.RawMessage(`{"value":12345678901234567890}`))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if n, ok := got.(json.Number); !ok || n.String() != "12345678901234567890" {
		t.Errorf("value = %#v, want json.Number 12345678901234567890", got)
	}
	if string(res.Content) != "12345678901234567890" {
		t.Errorf("content = %s, want 12345678901234567890", res.Content)
	}
}

func TestFuncCallErrors(t *testing.T) {
	failure := errors.New("directory unavailable")
	failing := MustFunc("crm:fail", "Fail.", func(context.Context, struct{}) (int, error) { return 0, failure })
	if _, err := failing.Call(context.Background(), nil); !errors.Is(err, failure) {
		t.Errorf("error %v, want %v", err, failure)
	}

	unencodable := MustFunc("crm:chan", "Return a channel.", func(context.Context, struct{}) (chan int, error) { return nil, nil })
	if _, err := unencodable.Call(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "encode the result") {
		t.Errorf("error %v, want an encoding error", err)
	}
}

func TestFuncCallResult(t *testing.T) {
	want := Result{Content: json.RawMessage(`{"reason":"no such customer"}`), IsError: true}
	tl := MustFunc("crm:miss", "Miss.", func(context.Context, struct{}) (Result, error) { return want, nil })
	res, err := tl.Call(context.Background(), json.RawMessage(`{}`))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if !res.IsError || string(res.Content) != string(want.Content) {
		t.Errorf("result = %+v, want %+v", res, want)
	}
}

func TestFuncCallContext(t *testing.T) {
	type key struct{}
	tl := MustFunc("ctx:value", "Read the context.", func(ctx context.Context, _ struct{}) (string, error) {
		v, _ := ctx.Value(key{}).(string)
		return v, nil
	})
	res, err := tl.Call(context.WithValue(context.Background(), key{}, "tenant-7"), nil)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if string(res.Content) != `"tenant-7"` {
		t.Errorf("content = %s, want \"tenant-7\"", res.Content)
	}
}

func TestFuncPointerArgs(t *testing.T) {
	tl := MustFunc("crm:city", "Return the city.", func(_ context.Context, a *address) (string, error) {
		return a.City, nil
	})
	if got := schemaMap(t, tl)["required"]; !reflect.DeepEqual(got, []any{"city"}) {
		t.Errorf("required = %v, want [city]", got)
	}
	res, err := tl.Call(context.Background(), json.RawMessage(`{"city":"Oslo"}`))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if string(res.Content) != `"Oslo"` {
		t.Errorf("content = %s, want \"Oslo\"", res.Content)
	}
}
