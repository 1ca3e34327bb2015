// Package tool defines the tools an agent can call and the registry that
// holds them.
//
// A [Tool] has a namespaced name ("crm:lookup"), a description, a JSON
// Schema of its arguments and a Call method. Tool names reach model
// providers in the form their APIs allow ("crm__lookup"); package llm maps
// them there and back. The namespace "built-in" is reserved for tools that
// agentry provides itself, such as built-in:emit_output, which an
// autonomous routine calls to deliver its result.
//
// [Func] turns a Go function into a tool whose schema is reflected from
// the function's argument type:
//
//	type lookupArgs struct {
//		Email string `json:"email" jsonschema:"description=Customer email"`
//	}
//
//	lookup, err := tool.Func("crm:lookup", "Find a customer by email.",
//		func(ctx context.Context, a lookupArgs) (Customer, error) { ... })
//
// A [Registry] holds static tools, added with [Registry.Add], and
// [Source]s that supply the tools of one namespace while the server runs,
// such as an MCP server that connects late, added with
// [Registry.AddSource].
//
// Before a call, [ValidateArgs] turns the empty forms that models send
// for tools without parameters ("", null) into {} and checks the
// arguments against the tool's schema. After it, [Truncate] cuts a result
// that is too large for the model's context and marks the cut in the
// result.
package tool
