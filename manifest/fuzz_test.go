package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(validYAML))
	f.Add(defaultYAML)
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"))
	f.Add([]byte("base: &b {x: 1}\nm: {<<: [*b, *b], y: ${V:-2}}\n"))
	f.Add([]byte("id: $${x} ${Y\nname: [\n"))
	f.Add([]byte(strings.Replace(validYAML, "scripted/demo", "interactive/agent", 1)))
	f.Add([]byte("? [a]\n: b\n---\nc: d\n"))
	f.Add([]byte(routinesYAML(refundRoutine + "      - r.yaml\n      - ${V}.yaml\n")))
	f.Add([]byte(routinesYAML("      - id: r\n        entry: a\n        autonomous: {input_schema: {type: objct}, output_schema: {}}\n" +
		"        nodes: [{id: a, think: t, output_schema: {$ref: x.json}, transitions: [{to: a}, {to: b}]}]\n")))
	f.Add([]byte(routinesYAML("      - r.yaml\n") + "  webhooks:\n" +
		"    - {name: k, routine: kyc, secret: " + standardSecret + ", input: /a~0b, callback_url: \"https://x.bank.example\"}\n" +
		"    - {name: h, routine: kyc, secret: s, signature: hmac-sha256, header: X-Sig, prefix: \"sha256=\"}\n" +
		"    - {name: s, routine: kyc, secret: s, signature: stripe, tolerance: 1h}\n"))
	f.Add([]byte(routinesYAML(refundRoutine+"      - r.yaml\n") + "  webhooks:\n" +
		"    - {name: k, routine: refund, secret: \"whsec_${V}\", header: X, input: data}\n" +
		"    - {name: k, routine: r, secret: \" \", signature: hmac-sha256, prefix: \" v\", tolerance: 0s, input: /~2}\n" +
		"    - {name: s, routine: kyc, secret: s, signature: stripe, encoding: hex, tolerance: 2h, callback_url: \"https://u@x\"}\n"))
	f.Add([]byte(routinesYAML(refundRoutine+"      - r.yaml\n") + "  mcps:\n" +
		"    - {id: orders, url: \"http://127.0.0.1:1/mcp\", api_key: k, headers: {X-A: b}, tools: [get, refund], timeout: 5s}\n" +
		"    - {id: crm, transport: sse, hostname: \"::1\", port: 9, tools: [find_customer]}\n" +
		"    - {id: fs, transport: stdio, command: srv, args: [a], env: {A: b}}\n"))
	f.Add([]byte(routinesYAML(refundRoutine) + "  mcps:\n" +
		"    - {id: orders, url: /mcp, hostname: \"h:1\", port: 0, command: c, tools: [\"orders:get\", get, get, \" \"], timeout: 11m}\n" +
		"    - {id: built-in, transport: stdio, url: \"http://u:p@x\", api_key: \" \", headers: {\"A B\": \"\\r\"}, env: {\"=\": x}}\n" +
		"    - {id: orders, transport: ws, tools: []}\n"))
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(kycRoutine), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "1.yaml"), []byte("id: &a [*a]\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, WithDir(dir), env(map[string]string{"V": "1"}))
		if err == nil && m == nil {
			t.Fatal("Parse returned neither a manifest nor an error")
		}
	})
}
