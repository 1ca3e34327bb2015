// Package tool defines the tools an agent can call and the registry that
// holds them.
//
// A [Tool] has a namespaced name ("crm:lookup"), a description, a JSON
// Schema of its arguments and a Call method. Tool names reach model
// providers in the form their APIs allow ("crm__lookup"); package llm maps
// them there and back. The namespace "built-in" is reserved for tools that
// agentry provides itself, such as built-in:emit_output, which an
// autonomous routine calls to deliver its result.
package tool
