package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/agentry/agentry/manifest"
)

// validate loads the manifest and prints every violation; the exit code
// is 1 when there is any.
func validate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "Usage: agentry validate FILE") }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	m, err := manifest.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range m.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	fmt.Fprintf(stdout, "%s: valid (agent %q)\n", fs.Arg(0), m.ID)
	return 0
}

// schema prints the manifest's JSON Schema, for editors and CI checks.
func schema(stdout io.Writer) int {
	if _, err := stdout.Write(manifest.Schema()); err != nil {
		return 1
	}
	fmt.Fprintln(stdout)
	return 0
}
