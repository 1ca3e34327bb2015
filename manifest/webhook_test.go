package manifest

import (
	"strings"
	"testing"
	"time"
)

// standardSecret is a valid Standard Webhooks secret: "whsec_" and 24
// bytes in base64.
const standardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// webhooksYAML is routinesYAML with the conversational refund routine,
// the autonomous kyc routine from routines/kyc.yaml (see kycRoutine) and
// the given webhooks list. The first webhook starts on line 23.
func webhooksYAML(webhooks string) string {
	return routinesYAML(refundRoutine+"      - routines/kyc.yaml\n") + "  webhooks:\n" + webhooks
}

// kycDir returns a directory that holds routines/kyc.yaml.
func kycDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "routines/kyc.yaml", kycRoutine)
	return dir
}

func TestParseWebhooks(t *testing.T) {
	src := webhooksYAML(`    - name: kyc-result
      routine: kyc
      secret: ${KYC_SECRET}
    - name: github_push
      routine: kyc
      secret: plain shared secret
      signature: hmac-sha256
      header: X-Hub-Signature-256
      prefix: "sha256="
      encoding: base64
      input: /data/object
      callback_url: https://ops.bank.example/kyc
    - name: Stripe
      routine: kyc
      secret: whsec_not-base64-for-stripe
      signature: stripe
      header: Persona-Signature
      tolerance: 1h
      input: /a~1b/~0c
    - name: plain-hmac
      routine: kyc
      secret: s
      signature: hmac-sha256
      header: X-Signature
      input: ""
`)
	m := parseOK(t, src, WithDir(kycDir(t)), env(map[string]string{"KYC_SECRET": standardSecret}))

	want := []Webhook{
		{Name: "kyc-result", Routine: "kyc", Secret: standardSecret, Signature: SchemeStandard,
			Tolerance: Duration(DefaultWebhookTolerance), Input: InputBody},
		{Name: "github_push", Routine: "kyc", Secret: "plain shared secret", Signature: SchemeHMACSHA256,
			Header: "X-Hub-Signature-256", Prefix: "sha256=", Encoding: EncodingBase64,
			Input: "/data/object", CallbackURL: "https://ops.bank.example/kyc"},
		{Name: "Stripe", Routine: "kyc", Secret: "whsec_not-base64-for-stripe", Signature: SchemeStripe,
			Header: "Persona-Signature", Tolerance: Duration(time.Hour), Input: "/a~1b/~0c"},
		{Name: "plain-hmac", Routine: "kyc", Secret: "s", Signature: SchemeHMACSHA256,
			Header: "X-Signature", Encoding: EncodingHex, Input: InputBody},
	}
	got := m.AgentConfig.Webhooks
	if len(got) != len(want) {
		t.Fatalf("got %d webhooks, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("webhook %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestManifestWebhook(t *testing.T) {
	m := &Manifest{AgentConfig: AgentConfig{Webhooks: []Webhook{{Name: "a"}, {Name: "b"}}}}
	w := m.Webhook("b")
	if w == nil {
		t.Fatal(`Webhook("b") = nil`)
	}
	if w != &m.AgentConfig.Webhooks[1] {
		t.Errorf(`Webhook("b") = %p, want a pointer to the second entry %p`, w, &m.AgentConfig.Webhooks[1])
	}
	if w := m.Webhook("B"); w != nil {
		t.Errorf(`Webhook("B") = %+v, want nil: names are case-sensitive`, *w)
	}
	if w := m.Webhook(""); w != nil {
		t.Errorf(`Webhook("") = %+v, want nil`, *w)
	}
}

func TestWebhookDefaults(t *testing.T) {
	cases := []struct {
		name string
		in   Webhook
		want Webhook
	}{
		{"standard", Webhook{},
			Webhook{Signature: SchemeStandard, Tolerance: Duration(DefaultWebhookTolerance), Input: InputBody}},
		{"stripe", Webhook{Signature: SchemeStripe, Input: "/data"},
			Webhook{Signature: SchemeStripe, Tolerance: Duration(DefaultWebhookTolerance), Input: "/data"}},
		{"hmac", Webhook{Signature: SchemeHMACSHA256},
			Webhook{Signature: SchemeHMACSHA256, Encoding: EncodingHex, Input: InputBody}},
		{"set values kept", Webhook{Signature: SchemeStandard, Tolerance: Duration(time.Second), Input: "/x"},
			Webhook{Signature: SchemeStandard, Tolerance: Duration(time.Second), Input: "/x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &Manifest{AgentConfig: AgentConfig{Webhooks: []Webhook{c.in}}}
			m.ApplyDefaults()
			if got := m.AgentConfig.Webhooks[0]; got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseWebhookMistakes(t *testing.T) {
	long := strings.Repeat("x", 65)
	src := webhooksYAML(`    - name: kyc
      routine: refund
      secret: "whsec_c2VjcmV0!"
      header: X-Signature
      tolerance: 2h
    - name: kyc
      routine: nope
      secret: "  "
      signature: hmac-sha256
      prefix: " sha256="
      tolerance: 5m
      input: data/object
    - name: bad name
      routine: kyc
      secret: s3cret
      signature: stripe
      encoding: hex
      prefix: "v1="
      tolerance: 0s
      input: /a~2
      callback_url: https://hooks.evil.example/cb
    - name: gh
      routine: kyc
      secret: s3cret
      signature: hmac-sha256
      header: "X Hub"
      callback_url: ftp://x.bank.example/
    - name: ` + long + `
      routine: " "
      secret: ` + standardSecret + `
      callback_url: "https://user:pw@ops.bank.example/"
    - routine: kyc
      sekret: x
`)
	list := violations(t, src, WithDir(kycDir(t)))
	hmacOnly := "applies only to signature hmac-sha256"
	want := []struct {
		path string
		line int
		msg  string
	}{
		{"agent_config.webhooks[0].routine", 24, `routine "refund" is conversational (it has no autonomous block), but a webhook starts autonomous runs`},
		{"agent_config.webhooks[0].secret", 25, `must be "whsec_" followed by a base64-encoded key`},
		{"agent_config.webhooks[0].header", 26, hmacOnly},
		{"agent_config.webhooks[0].tolerance", 27, "must be at most 1h"},
		{"agent_config.webhooks[1].name", 28, `duplicate webhook name "kyc" (first declared at agent_config.webhooks[0].name, line 23)`},
		{"agent_config.webhooks[1].routine", 29, `no routine with id "nope" in context.routines; name an autonomous routine: kyc`},
		{"agent_config.webhooks[1].secret", 30, "must not be empty or only whitespace"},
		{"agent_config.webhooks[1].signature", 31, "hmac-sha256 needs header"},
		{"agent_config.webhooks[1].prefix", 32, "must not start with whitespace"},
		{"agent_config.webhooks[1].tolerance", 33, "hmac-sha256 signs no timestamp"},
		{"agent_config.webhooks[1].input", 34, `must be "body" for the whole body, or a JSON pointer that starts with '/'`},
		{"agent_config.webhooks[2].name", 35, "must contain only letters, digits, '-' and '_'"},
		{"agent_config.webhooks[2].encoding", 39, hmacOnly},
		{"agent_config.webhooks[2].prefix", 40, hmacOnly},
		{"agent_config.webhooks[2].tolerance", 41, "must be more than 0; remove it for the default 5m"},
		{"agent_config.webhooks[2].input", 42, "'~' must be followed by 0 or 1"},
		{"agent_config.webhooks[2].callback_url", 43, `host "hooks.evil.example" is not in the callback_url_allowlist of routine "kyc"`},
		{"agent_config.webhooks[3].header", 48, "must be an HTTP header name"},
		{"agent_config.webhooks[3].callback_url", 49, "must be an absolute http or https URL"},
		{"agent_config.webhooks[4].name", 50, "must be at most 64 characters long"},
		{"agent_config.webhooks[4].routine", 51, "must not be empty or only whitespace"},
		{"agent_config.webhooks[4].callback_url", 53, "must not contain a user name or password"},
		{"agent_config.webhooks[5]", 54, `missing required key "name"`},
		{"agent_config.webhooks[5].sekret", 55, `unknown key; did you mean "secret"?`},
	}
	for _, w := range want {
		wantViolation(t, list, w.path, w.line, w.msg)
	}
	// webhooks[5] also misses its secret, so it has two violations.
	if len(list) != len(want)+1 {
		t.Errorf("got %d violations, want %d:\n%s", len(list), len(want)+1, formatViolations(list))
	}
}

func TestParseWebhookSecretHidden(t *testing.T) {
	secrets := []string{
		"whsec_c2VjcmV0IGtleQ!!",
		"whsec_plain-text-not-base64",
		"shared-token-without-prefix",
		"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"whsec_",
	}
	for _, secret := range secrets {
		t.Run(secret, func(t *testing.T) {
			src := webhooksYAML("    - {name: k, routine: kyc, secret: \"${S}\"}\n")
			_, err := Parse([]byte(src), WithDir(kycDir(t)), env(map[string]string{"S": secret}))
			if err == nil {
				t.Fatal("Parse succeeded; want an error about the secret")
			}
			if !strings.Contains(err.Error(), "agent_config.webhooks[0].secret (line 23)") {
				t.Errorf("error does not name the secret's path and line:\n%v", err)
			}
			key := strings.TrimPrefix(secret, "whsec_")
			if key != "" && strings.Contains(err.Error(), key) {
				t.Errorf("error contains the secret:\n%v", err)
			}
		})
	}
}

func TestParseWebhookRoutine(t *testing.T) {
	cases := []struct {
		name, context, routine, msg string
	}{
		{"no routines", "", "kyc",
			`no routine with id "kyc" in context.routines; add an autonomous routine for the webhook to start`},
		{"conversational only", "  context:\n    routines:\n" + refundRoutine, "kyc",
			`no routine with id "kyc" in context.routines; add an autonomous routine`},
		{"other autonomous", "  context:\n    routines:\n      - routines/kyc.yaml\n      - routines/aml.yaml\n", "kyc-v2",
			`no routine with id "kyc-v2" in context.routines; name an autonomous routine: aml, kyc`},
	}
	dir := kycDir(t)
	writeFile(t, dir, "routines/aml.yaml", strings.Replace(kycRoutine, "id: kyc", "id: aml", 1))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := validYAML + c.context +
				"  webhooks:\n    - {name: k, routine: " + c.routine + ", secret: " + standardSecret + "}\n"
			v := findViolation(t, violations(t, src, WithDir(dir)), "agent_config.webhooks[0].routine")
			if !strings.Contains(v.Message, c.msg) {
				t.Errorf("message %q, want it to contain %q", v.Message, c.msg)
			}
		})
	}
}

// A routine file that fails to load is reported once, and a webhook that
// names a routine the file may contain gets no second violation.
func TestParseWebhookRoutineFileMissing(t *testing.T) {
	src := routinesYAML("      - routines/missing.yaml\n") +
		"  webhooks:\n    - {name: k, routine: kyc, secret: " + standardSecret + "}\n"
	list := violations(t, src, WithDir(t.TempDir()))
	findViolation(t, list, "agent_config.context.routines[0]")
	if len(list) != 1 {
		t.Errorf("got %d violations, want only the missing file:\n%s", len(list), formatViolations(list))
	}
}

func TestParseWebhookTolerance(t *testing.T) {
	cases := []struct {
		tolerance, signature, msg string
	}{
		{"1ns", "standard", ""},
		{"1h", "stripe", ""},
		{"59m59s", "standard", ""},
		{"1h0m1s", "standard", "must be at most 1h"},
		{"61m", "stripe", "must be at most 1h"},
		{"0s", "stripe", "must be more than 0"},
		{"0h", "standard", "must be more than 0"},
		{"5m", "hmac-sha256", "hmac-sha256 signs no timestamp"},
		{"5 minutes", "standard", "must be a Go duration"},
	}
	dir := kycDir(t)
	for _, c := range cases {
		t.Run(c.signature+" "+c.tolerance, func(t *testing.T) {
			secret := standardSecret
			if c.signature != SchemeStandard {
				secret = "s"
			}
			src := webhooksYAML("    - {name: k, routine: kyc, secret: " + secret + ", signature: " + c.signature +
				", header: X-Sig, tolerance: " + c.tolerance + "}\n")
			if c.signature != SchemeHMACSHA256 {
				src = strings.Replace(src, ", header: X-Sig", "", 1)
			}
			if c.msg == "" {
				m := parseOK(t, src, WithDir(dir))
				want, _ := time.ParseDuration(c.tolerance)
				if got := time.Duration(m.AgentConfig.Webhooks[0].Tolerance); got != want {
					t.Errorf("tolerance = %s, want %s", got, want)
				}
				return
			}
			wantViolation(t, violations(t, src, WithDir(dir)), "agent_config.webhooks[0].tolerance", 23, c.msg)
		})
	}
}

func TestJSONPointerProblem(t *testing.T) {
	cases := []struct {
		pointer string
		valid   bool
	}{
		{"", true},
		{"/", true},
		{"/data/object", true},
		{"/items/0", true},
		{"/a~0b/c~1d", true},
		{"/~01", true},
		{"//", true},
		{"/ä", true},
		{"data", false},
		{"body/x", false},
		{"#/data", false},
		{"~0", false},
		{"/a~", false},
		{"/a~2", false},
		{"/a~/b", false},
		{"/~~0", false},
	}
	for _, c := range cases {
		t.Run(c.pointer, func(t *testing.T) {
			msg := jsonPointerProblem(c.pointer)
			if valid := msg == ""; valid != c.valid {
				t.Errorf("jsonPointerProblem(%q) = %q; want valid %v", c.pointer, msg, c.valid)
			}
		})
	}
}

func TestValidHeaderName(t *testing.T) {
	cases := []struct {
		name  string
		valid bool
	}{
		{"X-Hub-Signature-256", true},
		{"x-signature", true},
		{"X_Sig.v1", true},
		{"!#$%&'*+-.^_`|~", true},
		{"", false},
		{"X Sig", false},
		{"X-Sig:", false},
		{"X-Sig\n", false},
		{"X-Sïg", false},
		{"(X)", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := validHeaderName(c.name); got != c.valid {
				t.Errorf("validHeaderName(%q) = %v, want %v", c.name, got, c.valid)
			}
		})
	}
}
