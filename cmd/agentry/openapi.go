package main

import (
	"fmt"
	"io"

	"github.com/agentry/agentry/transport/openapi"
)

// openAPICmd prints the OpenAPI document that the server serves at
// GET /openapi.json. It needs no manifest, because the document describes
// the surface that every agent serves.
func openAPICmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "agentry openapi: unexpected argument %q; the command takes none\n", args[0])
		return 2
	}
	if _, err := stdout.Write(openapi.Document()); err != nil {
		fmt.Fprintf(stderr, "agentry openapi: writing the document failed: %v\n", err)
		return 1
	}
	return 0
}
