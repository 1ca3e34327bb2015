package webhook_test

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/transport/webhook"
)

// Secrets of the hmac-sha256 and stripe tests. The stripe one starts with
// whsec_ as Stripe's do, but is used as raw bytes.
const (
	hmacSecret   = "kyc-vendor-shared-secret-7Qd2"
	stripeSecret = "whsec_4eC39HqLyjWDarjtT1zdp7dc"
)

// Configurations that the tests of every scheme run with.
var (
	standardConfig = webhook.Inbound{Scheme: webhook.SchemeStandard, Secret: testSecret}
	githubConfig   = webhook.Inbound{Scheme: webhook.SchemeHMACSHA256, Secret: hmacSecret,
		Header: "X-Hub-Signature-256", Prefix: "sha256=", Encoding: webhook.EncodingHex}
	base64Config = webhook.Inbound{Scheme: webhook.SchemeHMACSHA256, Secret: hmacSecret,
		Header: "X-Signature", Encoding: webhook.EncodingBase64}
	stripeConfig = webhook.Inbound{Scheme: webhook.SchemeStripe, Secret: stripeSecret}
)

func mustVerifier(t testing.TB, cfg webhook.Inbound) *webhook.Verifier {
	t.Helper()
	v, err := webhook.NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func TestNewVerifier(t *testing.T) {
	tests := []struct {
		name string
		cfg  webhook.Inbound
		want error
	}{
		{"standard", standardConfig, nil},
		{"default scheme", webhook.Inbound{Secret: testSecret}, nil},
		{"hmac hex", githubConfig, nil},
		{"hmac base64", base64Config, nil},
		{"hmac default encoding", webhook.Inbound{Scheme: "hmac-sha256", Secret: hmacSecret, Header: "X-Sig"}, nil},
		{"stripe", stripeConfig, nil},
		{"stripe custom header", webhook.Inbound{Scheme: "stripe", Secret: stripeSecret, Header: "Persona-Signature"}, nil},
		{"tolerance", webhook.Inbound{Secret: testSecret, Tolerance: time.Minute}, nil},

		{"unknown scheme", webhook.Inbound{Scheme: "github", Secret: hmacSecret}, webhook.ErrInvalidConfig},
		{"upper scheme", webhook.Inbound{Scheme: "STRIPE", Secret: stripeSecret}, webhook.ErrInvalidConfig},
		{"negative tolerance", webhook.Inbound{Secret: testSecret, Tolerance: -time.Second}, webhook.ErrInvalidConfig},
		{"standard header", webhook.Inbound{Secret: testSecret, Header: "X-Sig"}, webhook.ErrInvalidConfig},
		{"standard prefix", webhook.Inbound{Secret: testSecret, Prefix: "v1,"}, webhook.ErrInvalidConfig},
		{"standard encoding", webhook.Inbound{Secret: testSecret, Encoding: "hex"}, webhook.ErrInvalidConfig},
		{"hmac no header", webhook.Inbound{Scheme: "hmac-sha256", Secret: hmacSecret}, webhook.ErrInvalidConfig},
		{"hmac header space", webhook.Inbound{Scheme: "hmac-sha256", Secret: hmacSecret, Header: "X Sig"}, webhook.ErrInvalidConfig},
		{"hmac header colon", webhook.Inbound{Scheme: "hmac-sha256", Secret: hmacSecret, Header: "X-Sig:"}, webhook.ErrInvalidConfig},
		{"hmac encoding", webhook.Inbound{Scheme: "hmac-sha256", Secret: hmacSecret, Header: "X-Sig", Encoding: "base32"}, webhook.ErrInvalidConfig},
		{"hmac upper encoding", webhook.Inbound{Scheme: "hmac-sha256", Secret: hmacSecret, Header: "X-Sig", Encoding: "HEX"}, webhook.ErrInvalidConfig},
		{"hmac prefix space", webhook.Inbound{Scheme: "hmac-sha256", Secret: hmacSecret, Header: "X-Sig", Prefix: "sha256 "}, webhook.ErrInvalidConfig},
		{"hmac prefix non-ASCII", webhook.Inbound{Scheme: "hmac-sha256", Secret: hmacSecret, Header: "X-Sig", Prefix: "é="}, webhook.ErrInvalidConfig},
		{"stripe prefix", webhook.Inbound{Scheme: "stripe", Secret: stripeSecret, Prefix: "t="}, webhook.ErrInvalidConfig},
		{"stripe encoding", webhook.Inbound{Scheme: "stripe", Secret: stripeSecret, Encoding: "hex"}, webhook.ErrInvalidConfig},
		{"stripe bad header", webhook.Inbound{Scheme: "stripe", Secret: stripeSecret, Header: "Stripe\nSignature"}, webhook.ErrInvalidConfig},

		{"standard raw secret", webhook.Inbound{Secret: hmacSecret}, webhook.ErrInvalidSecret},
		{"standard bad base64", webhook.Inbound{Secret: "whsec_not*base64!secret"}, webhook.ErrInvalidSecret},
		{"hmac empty secret", webhook.Inbound{Scheme: "hmac-sha256", Header: "X-Sig"}, webhook.ErrInvalidSecret},
		{"hmac secret newline", webhook.Inbound{Scheme: "hmac-sha256", Secret: hmacSecret + "\n", Header: "X-Sig"}, webhook.ErrInvalidSecret},
		{"stripe empty secret", webhook.Inbound{Scheme: "stripe"}, webhook.ErrInvalidSecret},
		{"stripe secret space", webhook.Inbound{Scheme: "stripe", Secret: " " + stripeSecret}, webhook.ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := webhook.NewVerifier(tt.cfg)
			if tt.want == nil {
				if err != nil || v == nil {
					t.Fatalf("NewVerifier = %v, %v; want a verifier", v, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if v != nil {
				t.Errorf("NewVerifier returned a verifier with the error %v", err)
			}
			secret := strings.TrimSpace(strings.TrimPrefix(tt.cfg.Secret, "whsec_"))
			if len(secret) > 4 && strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

func TestVerifierFormatHidesKey(t *testing.T) {
	for _, cfg := range []webhook.Inbound{standardConfig, githubConfig, stripeConfig} {
		v := mustVerifier(t, cfg)
		key := cfg.Secret
		if cfg.Scheme == webhook.SchemeStandard {
			key = string(mustKey(t, cfg.Secret))
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d", "%q"} {
			out := fmt.Sprintf(verb, v)
			if !strings.Contains(out, cfg.Scheme) {
				t.Errorf("%s: Sprintf(%q) = %q, want the scheme", cfg.Scheme, verb, out)
			}
			for _, secret := range []string{key, fmt.Sprintf("%x", key), fmt.Sprint([]byte(key))} {
				if strings.Contains(out, secret) {
					t.Errorf("%s: Sprintf(%q) = %q contains the key", cfg.Scheme, verb, out)
				}
			}
		}
	}
}

func TestVerifierRoundTrip(t *testing.T) {
	bodies := map[string][]byte{
		"json":      []byte(`{"applicant_id":"a_1","result":"clear","score":9007199254740993}`),
		"non-ascii": []byte(`{"name":"Zoë Ñandú ✓"}`),
		"empty":     {},
		"binary":    {0x00, 0xff, 0x2e, 0x0a, 0x0d},
	}
	configs := map[string]webhook.Inbound{
		"standard":       standardConfig,
		"hmac hex":       githubConfig,
		"hmac base64":    base64Config,
		"stripe":         stripeConfig,
		"stripe persona": {Scheme: webhook.SchemeStripe, Secret: stripeSecret, Header: "Persona-Signature"},
	}
	for cfgName, cfg := range configs {
		v := mustVerifier(t, cfg)
		for bodyName, body := range bodies {
			t.Run(cfgName+"/"+bodyName, func(t *testing.T) {
				h := v.Sign(body, testNow)
				id, err := v.Verify(h, body, testNow)
				if err != nil {
					t.Fatalf("Verify(Sign) = %v", err)
				}
				if id == "" {
					t.Error("Verify returned an empty delivery id")
				}
				again, err := v.Verify(h, body, testNow.Add(time.Minute))
				if err != nil {
					t.Fatalf("second Verify = %v", err)
				}
				if again != id {
					t.Errorf("same delivery got ids %q and %q", id, again)
				}
				tampered := append([]byte{'x'}, body...)
				if _, err := v.Verify(h, tampered, testNow); !errors.Is(err, webhook.ErrInvalidSignature) {
					t.Errorf("Verify of another body = %v, want ErrInvalidSignature", err)
				}
			})
		}
	}
}

func TestVerifierSignHeaders(t *testing.T) {
	body := []byte(`{}`)
	tests := []struct {
		cfg     webhook.Inbound
		headers []string
	}{
		{standardConfig, []string{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature}},
		{githubConfig, []string{"X-Hub-Signature-256"}},
		{base64Config, []string{"X-Signature"}},
		{stripeConfig, []string{webhook.DefaultStripeHeader}},
	}
	for _, tt := range tests {
		h := mustVerifier(t, tt.cfg).Sign(body, testNow)
		if len(h) != len(tt.headers) {
			t.Errorf("%s: Sign returned %d headers, want %d: %v", tt.cfg.Scheme, len(h), len(tt.headers), h)
		}
		for _, name := range tt.headers {
			if h.Get(name) == "" {
				t.Errorf("%s: Sign did not set %s: %v", tt.cfg.Scheme, name, h)
			}
		}
	}
}

func TestVerifierSignStandardID(t *testing.T) {
	v := mustVerifier(t, standardConfig)
	body := []byte(`{}`)
	first := v.Sign(body, testNow)
	second := v.Sign(body, testNow)
	pattern := regexp.MustCompile(`^msg_[A-Z2-7]{26}$`)
	for _, h := range []http.Header{first, second} {
		if id := h.Get(webhook.HeaderID); !pattern.MatchString(id) {
			t.Errorf("%s = %q, want msg_ and 26 base32 characters", webhook.HeaderID, id)
		}
	}
	if first.Get(webhook.HeaderID) == second.Get(webhook.HeaderID) {
		t.Errorf("two Sign calls gave the same id %q", first.Get(webhook.HeaderID))
	}
	id, err := v.Verify(first, body, testNow)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if id != first.Get(webhook.HeaderID) {
		t.Errorf("delivery id = %q, want the %s %q", id, webhook.HeaderID, first.Get(webhook.HeaderID))
	}
}

func TestVerifierDeliveryID(t *testing.T) {
	body := []byte(`{"event":"check.completed"}`)
	other := []byte(`{"event":"check.started"}`)
	hexID := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, cfg := range []webhook.Inbound{githubConfig, base64Config, stripeConfig} {
		v := mustVerifier(t, cfg)
		id, err := v.Verify(v.Sign(body, testNow), body, testNow)
		if err != nil {
			t.Fatalf("%s: Verify: %v", cfg.Scheme, err)
		}
		if !hexID.MatchString(id) {
			t.Errorf("%s: delivery id %q is not 64 hex digits", cfg.Scheme, id)
		}
		otherID, err := v.Verify(v.Sign(other, testNow), other, testNow)
		if err != nil {
			t.Fatalf("%s: Verify: %v", cfg.Scheme, err)
		}
		if otherID == id {
			t.Errorf("%s: two bodies got the same delivery id %q", cfg.Scheme, id)
		}
	}
}

// TestVerifierDeliveryIDRewritten checks that a replay cannot get a new
// delivery id by writing the same signature another way.
func TestVerifierDeliveryIDRewritten(t *testing.T) {
	body := []byte(`{"event":"payment.succeeded"}`)
	hexV := mustVerifier(t, githubConfig)
	stripeV := mustVerifier(t, stripeConfig)
	hexSig := hexV.Sign(body, testNow).Get("X-Hub-Signature-256")
	stripeSig := stripeV.Sign(body, testNow).Get(webhook.DefaultStripeHeader)
	ts, v1, _ := strings.Cut(stripeSig, ",")

	tests := []struct {
		name     string
		v        *webhook.Verifier
		header   string
		original string
		rewrite  string
	}{
		{"hmac upper hex", hexV, "X-Hub-Signature-256", hexSig, "sha256=" + strings.ToUpper(strings.TrimPrefix(hexSig, "sha256="))},
		{"hmac spaces", hexV, "X-Hub-Signature-256", hexSig, " " + hexSig + "\t"},
		{"stripe order", stripeV, webhook.DefaultStripeHeader, stripeSig, v1 + "," + ts},
		{"stripe extra v1", stripeV, webhook.DefaultStripeHeader, stripeSig, stripeSig + ",v1=" + strings.Repeat("0", 64)},
		{"stripe v0", stripeV, webhook.DefaultStripeHeader, stripeSig, stripeSig + ",v0=abc"},
		{"stripe leading zero", stripeV, webhook.DefaultStripeHeader, stripeSig, "t=0" + strings.TrimPrefix(stripeSig, "t=")},
		{"stripe upper hex", stripeV, webhook.DefaultStripeHeader, stripeSig, ts + ",v1=" + strings.ToUpper(strings.TrimPrefix(v1, "v1="))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := tt.v.Verify(http.Header{tt.header: {tt.original}}, body, testNow)
			if err != nil {
				t.Fatalf("Verify(original): %v", err)
			}
			got, err := tt.v.Verify(http.Header{tt.header: {tt.rewrite}}, body, testNow)
			if err != nil {
				t.Fatalf("Verify(%q): %v", tt.rewrite, err)
			}
			if got != want {
				t.Errorf("rewritten header got id %q, original %q", got, want)
			}
		})
	}
}

// TestVerifierStripeRetryID shows the limit of content ids: a sender's
// retry signs a new timestamp, so it gets a new id.
func TestVerifierStripeRetryID(t *testing.T) {
	v := mustVerifier(t, stripeConfig)
	body := []byte(`{"id":"evt_1"}`)
	first, err := v.Verify(v.Sign(body, testNow), body, testNow)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	retry, err := v.Verify(v.Sign(body, testNow.Add(time.Minute)), body, testNow)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if first == retry {
		t.Errorf("a retry with a new timestamp got the same id %q", first)
	}
}

func TestVerifierZeroValue(t *testing.T) {
	body := []byte(`{}`)
	h := mustVerifier(t, standardConfig).Sign(body, testNow)
	for name, v := range map[string]*webhook.Verifier{"nil": nil, "zero": {}} {
		if _, err := v.Verify(h, body, testNow); !errors.Is(err, webhook.ErrInvalidSecret) {
			t.Errorf("%s: Verify = %v, want ErrInvalidSecret", name, err)
		}
	}
}
