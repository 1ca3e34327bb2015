package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/webhook"
)

// webhookCmd runs the "webhook" subcommands.
func webhookCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "sign" {
		fmt.Fprintln(stderr, "Usage: agentry webhook sign --manifest FILE --name NAME --body FILE [--url URL]")
		return 2
	}
	return webhookSign(args[1:], stdout, stderr)
}

// webhookSign prints a curl command that POSTs the body to the inbound
// webhook with valid signature headers, so a user can check a webhook's
// configuration end to end before the provider sends real events.
func webhookSign(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("webhook sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	manifestPath := fs.String("manifest", "", "path of the agent manifest; required")
	name := fs.String("name", "", "name of the inbound webhook in the manifest; required")
	bodyPath := fs.String("body", "", "file holding the JSON body to send; required")
	baseURL := fs.String("url", "http://127.0.0.1:8080", "base URL of the agentry server")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *manifestPath == "" || *name == "" || *bodyPath == "" {
		fmt.Fprintln(stderr, "agentry webhook sign: --manifest, --name and --body are required")
		fs.Usage()
		return 2
	}
	m, err := manifest.Load(*manifestPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	hook := m.Webhook(*name)
	if hook == nil {
		var names []string
		for _, h := range m.AgentConfig.Webhooks {
			names = append(names, h.Name)
		}
		fmt.Fprintf(stderr, "agentry webhook sign: the manifest has no webhook %q; it has: %s\n", *name, strings.Join(names, ", "))
		return 1
	}
	body, err := os.ReadFile(*bodyPath)
	if err != nil {
		fmt.Fprintf(stderr, "agentry webhook sign: reading the body: %v\n", err)
		return 1
	}
	v, err := webhook.NewVerifier(webhook.Inbound{
		Scheme:    hook.Signature,
		Secret:    hook.Secret,
		Header:    hook.Header,
		Prefix:    hook.Prefix,
		Encoding:  hook.Encoding,
		Tolerance: time.Duration(hook.Tolerance),
	})
	if err != nil {
		fmt.Fprintf(stderr, "agentry webhook sign: webhook %q: %v\n", *name, err)
		return 1
	}
	headers := v.Sign(body, time.Now())

	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(stdout, "curl -sS -X POST %s \\\n", shellQuote(strings.TrimRight(*baseURL, "/")+"/webhooks/"+*name))
	fmt.Fprintf(stdout, "  -H 'Content-Type: application/json' \\\n")
	for _, k := range keys {
		fmt.Fprintf(stdout, "  -H %s \\\n", shellQuote(k+": "+headers.Get(k)))
	}
	fmt.Fprintf(stdout, "  --data-binary @%s\n", shellQuote(*bodyPath))
	if hook.Signature != manifest.SchemeHMACSHA256 {
		fmt.Fprintf(stdout, "# The signature carries a timestamp: run the command within %s.\n", time.Duration(hook.Tolerance))
	}
	return 0
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
