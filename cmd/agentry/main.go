// Command agentry serves an agent described by a YAML manifest, checks
// manifests, and prints the manifest JSON Schema and the OpenAPI document.
//
// Usage:
//
//	agentry serve --manifest FILE [--addr :8080]
//	agentry validate FILE
//	agentry schema
//	agentry openapi
//	agentry webhook sign --manifest FILE --name NAME --body FILE [--url URL]
//	agentry kb ingest --manifest FILE [--create] PATH...
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `agentry runs an AI agent as an HTTP server.

Usage:
  agentry serve --manifest FILE [--addr ADDR]   serve the agent
  agentry validate FILE                         check a manifest; list every problem
  agentry schema                                print the manifest JSON Schema
  agentry openapi                               print the OpenAPI 3.1 document of the HTTP API
  agentry webhook sign --manifest FILE --name NAME --body FILE [--url URL]
                                                print a signed curl command that
                                                POSTs FILE to an inbound webhook
  agentry kb ingest --manifest FILE [--create] PATH...
                                                chunk, embed and store Markdown and
                                                text files in the pgvector table

Run "agentry COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "validate":
		return validate(args[1:], stdout, stderr)
	case "schema":
		return schema(stdout)
	case "openapi":
		return openAPICmd(args[1:], stdout, stderr)
	case "webhook":
		return webhookCmd(args[1:], stdout, stderr)
	case "kb":
		return kbCmd(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "agentry: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
