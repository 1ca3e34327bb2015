package manifest

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// runtimeYAML is validYAML with lines added to its runtime block.
func runtimeYAML(lines string) string {
	return strings.Replace(validYAML, "    api_key: test-key\n", "    api_key: test-key\n"+lines, 1)
}

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestParseRuntimeOutbound(t *testing.T) {
	const rt = "agent_config.runtime"
	cases := []struct {
		name, lines, path, msg string
	}{
		{"previous secret", "    previous_signing_secrets: [" + testSecret + ", not-a-secret]\n",
			rt + ".previous_signing_secrets[1]", `must be "whsec_" followed by a base64-encoded key`},
		{"webhook url", "    event_webhook: {url: \"127.0.0.1:9000/events\"}\n",
			rt + ".event_webhook.url", "must be an absolute http or https URL"},
		{"webhook without url", "    event_webhook: {signing_secret: " + testSecret + "}\n",
			rt + ".event_webhook", `missing required key "url"`},
		{"webhook secret", "    event_webhook: {url: \"http://127.0.0.1:9000/events\", signing_secret: s3cret}\n",
			rt + ".event_webhook.signing_secret", "whsec_"},
		{"allow host with scheme", "    outbound: {allow_hosts: [\"http://crm.internal\"]}\n",
			rt + ".outbound.allow_hosts[0]", "a CIDR range (10.0.0.0/8)"},
		{"allow host with port", "    outbound: {allow_hosts: [10.0.0.0/8, \"crm.internal:8080\"]}\n",
			rt + ".outbound.allow_hosts[1]", "must be a host name"},
		{"token without mode", "    outbound_auth: {token: t0ken}\n",
			rt + ".outbound_auth.token", "is sent only with mode: token"},
		{"token with other mode", "    outbound_auth: {mode: signature_only, token: t0ken}\n",
			rt + ".outbound_auth.token", "is sent only with mode: token"},
		{"mode token without token", "    outbound_auth: {mode: token}\n",
			rt + ".outbound_auth", "mode token needs a token"},
		{"blank token", "    outbound_auth: {mode: token, token: \" \"}\n",
			rt + ".outbound_auth.token", "must not be empty"},
		{"unknown mode", "    outbound_auth: {mode: basic}\n",
			rt + ".outbound_auth.mode", "must be one of api_key, signature_only, token"},
		{"empty schedule", "    delivery: {retry_schedule: []}\n",
			rt + ".delivery.retry_schedule", "must list at least 1 entries"},
		{"long schedule", "    delivery: {retry_schedule: [" + strings.Repeat("1s, ", 20) + "1s]}\n",
			rt + ".delivery.retry_schedule", "must list at most 20 entries"},
		{"long delay", "    delivery: {retry_schedule: [5s, 48h1s]}\n",
			rt + ".delivery.retry_schedule[1]", "must be at most 48h"},
		{"bad delay", "    delivery: {retry_schedule: [soon]}\n",
			rt + ".delivery.retry_schedule[0]", "must be a Go duration"},
		{"long timeout", "    delivery: {timeout: 5m1s}\n",
			rt + ".delivery.timeout", "must be at most 5m"},
		{"zero timeout", "    delivery: {timeout: 0s}\n",
			rt + ".delivery.timeout", "must be more than 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			list := violations(t, runtimeYAML(c.lines))
			v := findViolation(t, list, c.path)
			if v.Line != 6 {
				t.Errorf("line %d, want 6", v.Line)
			}
			if !strings.Contains(v.Message, c.msg) {
				t.Errorf("message %q, want it to contain %q", v.Message, c.msg)
			}
			for _, secret := range []string{"s3cret", "t0ken", "not-a-secret"} {
				if strings.Contains(formatViolations(list), secret) {
					t.Errorf("violations show the value %q:\n%s", secret, formatViolations(list))
				}
			}
		})
	}
}

func TestParseRuntimeOutboundValid(t *testing.T) {
	m := parseOK(t, runtimeYAML(`    signing_secret: `+testSecret+`
    previous_signing_secrets: [`+testSecret+`]
    event_webhook:
      url: http://127.0.0.1:9000/events
      signing_secret: `+testSecret+`
    outbound:
      allow_hosts: [crm.internal, "*.svc.cluster.local", 10.0.0.0/8, "fd00::/8", 127.0.0.1, "::1"]
    outbound_auth: {mode: token, token: t0ken}
    delivery: {retry_schedule: [1s, 48h], timeout: 5m}
`))
	rt := m.AgentConfig.Runtime
	if rt.EventWebhook == nil || rt.EventWebhook.URL != "http://127.0.0.1:9000/events" {
		t.Errorf("event_webhook = %+v", rt.EventWebhook)
	}
	if len(rt.Outbound.AllowHosts) != 6 {
		t.Errorf("allow_hosts = %q, want 6 entries", rt.Outbound.AllowHosts)
	}
	if rt.OutboundAuth.Token != "t0ken" {
		t.Errorf("token not decoded")
	}
	want := []Duration{Duration(time.Second), Duration(48 * time.Hour)}
	if !slices.Equal(rt.Delivery.RetrySchedule, want) || rt.Delivery.Timeout != Duration(5*time.Minute) {
		t.Errorf("delivery = %+v, want the values written", rt.Delivery)
	}
}

func TestRuntimeDefaults(t *testing.T) {
	rt := parseOK(t, validYAML).AgentConfig.Runtime
	var want []Duration
	for _, d := range DefaultRetrySchedule() {
		want = append(want, Duration(d))
	}
	if !slices.Equal(rt.Delivery.RetrySchedule, want) {
		t.Errorf("retry_schedule = %v, want %v", rt.Delivery.RetrySchedule, want)
	}
	if rt.Delivery.Timeout != Duration(DefaultDeliveryTimeout) {
		t.Errorf("timeout = %v, want %v", rt.Delivery.Timeout, DefaultDeliveryTimeout)
	}
	if rt.OutboundAuth.Mode != OutboundAuthAPIKey {
		t.Errorf("outbound_auth.mode = %q, want %q", rt.OutboundAuth.Mode, OutboundAuthAPIKey)
	}
	s := DefaultRetrySchedule()
	s[0] = time.Hour
	if DefaultRetrySchedule()[0] == time.Hour {
		t.Error("DefaultRetrySchedule returns a shared slice")
	}
	if n := len(DefaultRetrySchedule()); n > MaxRetryScheduleLen {
		t.Errorf("default schedule has %d entries, over the limit %d", n, MaxRetryScheduleLen)
	}
}
