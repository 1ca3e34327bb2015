// Package openapi builds the OpenAPI 3.1 document of agentry's HTTP API.
//
// The document describes the generic surface that every agent serves. It
// holds nothing from a manifest: no keys, no routine or webhook names, no
// URLs. So the server can publish it without authentication, and
// `agentry openapi` prints it without a manifest. Component schemas are
// generated from the Go types of package transport/wire with
// github.com/invopop/jsonschema, so they follow the types' json tags.
package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Version is the OpenAPI version of the document.
const Version = "3.1.0"

// apiVersion is info.version of the document.
//
// NOTE: the project has no release version yet. Raise this when the HTTP
// API changes in a way that breaks clients.
const apiVersion = "0.1.0"

// Document returns the OpenAPI document as indented JSON. It is built on
// the first call and copied on each.
func Document() []byte {
	return bytes.Clone(documentJSON())
}

var documentJSON = sync.OnceValue(func() []byte {
	doc, err := build()
	if err != nil {
		// The input is Go types and static tables, so an error is a bug
		// that the package's tests catch.
		panic(err)
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("openapi: encode document: %v", err))
	}
	return append(data, '\n')
})

// Route is a method and path that the document describes, in the
// syntax of [net/http.ServeMux] patterns ("GET /sessions/{id}").
type Route struct {
	Method string
	Path   string
}

// Pattern returns the route as a ServeMux pattern.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Routes lists the routes of the document, sorted by path and method.
func Routes() []Route {
	out := make([]Route, 0, len(operations))
	for _, op := range operations {
		out = append(out, Route{Method: op.method, Path: op.path})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

type document struct {
	OpenAPI    string                           `json:"openapi"`
	Info       info                             `json:"info"`
	Security   []securityRequirement            `json:"security"`
	Paths      map[string]map[string]*operation `json:"paths"`
	Components components                       `json:"components"`
}

type info struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

// securityRequirement maps a security scheme's name to its scopes, which
// are always empty here.
type securityRequirement map[string][]string

type components struct {
	Schemas         map[string]any            `json:"schemas"`
	Responses       map[string]response       `json:"responses"`
	SecuritySchemes map[string]securityScheme `json:"securitySchemes"`
}

type securityScheme struct {
	Type         string `json:"type"`
	Scheme       string `json:"scheme,omitempty"`
	In           string `json:"in,omitempty"`
	Name         string `json:"name,omitempty"`
	Description  string `json:"description"`
	BearerFormat string `json:"bearerFormat,omitempty"`
}

type operation struct {
	OperationID string                 `json:"operationId"`
	Summary     string                 `json:"summary"`
	Description string                 `json:"description,omitempty"`
	Tags        []string               `json:"tags"`
	Parameters  []parameter            `json:"parameters,omitempty"`
	RequestBody *requestBody           `json:"requestBody,omitempty"`
	Responses   map[string]any         `json:"responses"`
	Security    *[]securityRequirement `json:"security,omitempty"`

	// method and path place the operation in the document.
	method string
	path   string
}

type parameter struct {
	Name        string `json:"name"`
	In          string `json:"in"`
	Description string `json:"description"`
	Required    bool   `json:"required,omitempty"`
	Schema      any    `json:"schema"`
}

type requestBody struct {
	Description string               `json:"description,omitempty"`
	Required    bool                 `json:"required"`
	Content     map[string]mediaType `json:"content"`
}

type response struct {
	Description string               `json:"description"`
	Headers     map[string]header    `json:"headers,omitempty"`
	Content     map[string]mediaType `json:"content,omitempty"`
}

type header struct {
	Description string `json:"description"`
	Schema      any    `json:"schema"`
}

type mediaType struct {
	Schema any `json:"schema"`
}

// build assembles the document from the operation table and the
// generated schemas.
func build() (*document, error) {
	schemas, err := componentSchemas()
	if err != nil {
		return nil, err
	}
	for name, s := range extraSchemas() {
		if _, dup := schemas[name]; dup {
			return nil, fmt.Errorf("openapi: schema %s is both generated and written by hand", name)
		}
		schemas[name] = s
	}
	doc := &document{
		OpenAPI: Version,
		Info: info{
			Title:   "agentry agent API",
			Version: apiVersion,
			Description: "The HTTP API that an agentry agent serves. Requests and responses are JSON " +
				"unless an operation says otherwise. Every error has the body " +
				`{"error": {"code", "message", "details"}}` + ". This document describes the generic " +
				"surface, contains no manifest values, and is served without authentication. A path that no operation has is 404 " +
				"not_found, and a documented path with another method is 405 method_not_allowed with an Allow header.",
		},
		Security: []securityRequirement{{"bearerAuth": {}}, {"cookieAuth": {}}},
		Paths:    map[string]map[string]*operation{},
		Components: components{
			Schemas:   schemas,
			Responses: errorResponses(),
			SecuritySchemes: map[string]securityScheme{
				"bearerAuth": {
					Type:        "http",
					Scheme:      "bearer",
					Description: "The manifest's runtime.api_key, sent as Authorization: Bearer <key>.",
				},
				"cookieAuth": {
					Type: "apiKey",
					In:   "cookie",
					Name: "agent_auth",
					Description: "The cookie that POST /auth/login sets for the chat page. It holds an expiring token " +
						"derived from the API key, never the key, and authenticates like the bearer token. " +
						"A cross-site request authenticated by it is rejected with 403.",
				},
			},
		},
	}
	for i := range operations {
		op := &operations[i]
		method := strings.ToLower(op.method)
		if doc.Paths[op.path] == nil {
			doc.Paths[op.path] = map[string]*operation{}
		}
		if _, dup := doc.Paths[op.path][method]; dup {
			return nil, fmt.Errorf("openapi: operation %s %s is listed twice", op.method, op.path)
		}
		if op.Security == nil {
			for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
				maps.Copy(op.Responses, responses(nil, status))
			}
		}
		doc.Paths[op.path][method] = op
	}
	return doc, nil
}
