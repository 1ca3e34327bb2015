package webhook_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/transport/webhook"
)

// stripeParts returns the t and v1 values of a header made by Sign.
func stripeParts(t *testing.T, header string) (ts, v1 string) {
	t.Helper()
	tEntry, v1Entry, ok := strings.Cut(header, ",")
	ts, okT := strings.CutPrefix(tEntry, "t=")
	v1, okV1 := strings.CutPrefix(v1Entry, "v1=")
	if !ok || !okT || !okV1 {
		t.Fatalf("Sign made %q, want t=<unix>,v1=<hex>", header)
	}
	return ts, v1
}

func TestVerifyStripe(t *testing.T) {
	v := mustVerifier(t, stripeConfig)
	body := []byte(`{"id":"evt_1","type":"payment_intent.succeeded"}`)
	sign := func(body []byte, at time.Time) string {
		return v.Sign(body, at).Get(webhook.DefaultStripeHeader)
	}
	now, right := stripeParts(t, sign(body, testNow))
	_, wrong := stripeParts(t, sign([]byte(`{"id":"evt_2"}`), testNow))
	otherSecret := mustVerifier(t, webhook.Inbound{Scheme: "stripe", Secret: "whsec_other"}).
		Sign(body, testNow).Get(webhook.DefaultStripeHeader)
	millis := strconv.FormatInt(testNow.UnixMilli(), 10)
	at := func(offset time.Duration) string { return sign(body, testNow.Add(offset)) }

	tests := []struct {
		name   string
		values []string
		want   error
	}{
		{"right", []string{"t=" + now + ",v1=" + right}, nil},
		{"wrong then right", []string{"t=" + now + ",v1=" + wrong + ",v1=" + right}, nil},
		{"right then wrong", []string{"t=" + now + ",v1=" + right + ",v1=" + wrong}, nil},
		{"v1 before t", []string{"v1=" + wrong + ",v1=" + right + ",t=" + now}, nil},
		{"with v0", []string{"t=" + now + ",v1=" + right + ",v0=" + wrong}, nil},
		{"junk v1 then right", []string{"t=" + now + ",v1=,v1=abc,v1=" + strings.Repeat("z", 64) + ",v1=" + right}, nil},
		{"spaces", []string{" t=" + now + ", v1=" + right + " "}, nil},
		{"empty entries", []string{",t=" + now + ",,v1=" + right + ","}, nil},
		{"upper hex", []string{"t=" + now + ",v1=" + strings.ToUpper(right)}, nil},
		{"unknown entry", []string{"t=" + now + ",v2=x=y,v1=" + right}, nil},
		{"past edge", []string{at(-300 * time.Second)}, nil},
		{"future edge", []string{at(300 * time.Second)}, nil},

		{"absent", nil, webhook.ErrMissingHeader},
		{"empty", []string{""}, webhook.ErrMissingHeader},
		{"repeated", []string{"t=" + now + ",v1=" + right, "t=" + now + ",v1=" + right}, webhook.ErrMalformedHeader},
		{"entry without =", []string{"t=" + now + ",v1=" + right + ",junk"}, webhook.ErrMalformedHeader},
		{"standard style", []string{"v1," + right}, webhook.ErrMalformedHeader},
		{"non-ASCII", []string{"t=" + now + ",v1=" + right + ",v2=é"}, webhook.ErrMalformedHeader},
		{"tab inside", []string{"t=" + now + ",v1=\t" + right}, webhook.ErrMalformedHeader},
		{"8 KB", []string{"t=" + now + ",v1=" + right + strings.Repeat(",v0="+wrong, 8<<10/68)}, webhook.ErrMalformedHeader},

		{"no t", []string{"v1=" + right}, webhook.ErrTimestamp},
		{"empty t", []string{"t=,v1=" + right}, webhook.ErrTimestamp},
		{"t=abc", []string{"t=abc,v1=" + right}, webhook.ErrTimestamp},
		{"milliseconds", []string{"t=" + millis + ",v1=" + right}, webhook.ErrTimestamp},
		{"two t", []string{"t=" + now + ",t=" + now + ",v1=" + right}, webhook.ErrTimestamp},
		{"two t differing", []string{"t=" + now + ",v1=" + right + ",t=1"}, webhook.ErrTimestamp},
		{"negative t", []string{"t=-" + now + ",v1=" + right}, webhook.ErrTimestamp},
		{"fraction t", []string{"t=" + now + ".0,v1=" + right}, webhook.ErrTimestamp},
		{"past 301s", []string{at(-301 * time.Second)}, webhook.ErrTimestamp},
		{"future 301s", []string{at(301 * time.Second)}, webhook.ErrTimestamp},
		{"past 600s", []string{at(-600 * time.Second)}, webhook.ErrTimestamp},
		{"future 600s", []string{at(600 * time.Second)}, webhook.ErrTimestamp},

		{"v0 only", []string{"t=" + now + ",v0=" + right}, webhook.ErrInvalidSignature},
		{"empty v1", []string{"t=" + now + ",v1="}, webhook.ErrInvalidSignature},
		{"upper V1", []string{"t=" + now + ",V1=" + right}, webhook.ErrInvalidSignature},
		{"odd-length hex", []string{"t=" + now + ",v1=" + right[:63]}, webhook.ErrInvalidSignature},
		{"truncated hex", []string{"t=" + now + ",v1=" + right[:62]}, webhook.ErrInvalidSignature},
		{"not hex", []string{"t=" + now + ",v1=" + strings.Repeat("g", 64)}, webhook.ErrInvalidSignature},
		{"other body", []string{"t=" + now + ",v1=" + wrong}, webhook.ErrInvalidSignature},
		{"other secret", []string{otherSecret}, webhook.ErrInvalidSignature},
		{"other t", []string{"t=" + strconv.FormatInt(testNow.Unix()+1, 10) + ",v1=" + right}, webhook.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyHeader(v, webhook.DefaultStripeHeader, tt.values, body)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), right) {
				t.Errorf("error %q contains the signature", err)
			}
		})
	}
}

func TestVerifyStripeHeaderName(t *testing.T) {
	v := mustVerifier(t, webhook.Inbound{Scheme: "stripe", Secret: stripeSecret, Header: "persona-signature"})
	body := []byte(`{"data":{"id":"inq_1"}}`)
	signed := mustVerifier(t, stripeConfig).Sign(body, testNow).Get(webhook.DefaultStripeHeader)

	if err := verifyHeader(v, "Persona-Signature", []string{signed}, body); err != nil {
		t.Errorf("Verify with Persona-Signature: %v", err)
	}
	err := verifyHeader(v, webhook.DefaultStripeHeader, []string{signed}, body)
	if !errors.Is(err, webhook.ErrMissingHeader) {
		t.Errorf("Verify with only Stripe-Signature = %v, want ErrMissingHeader", err)
	}
}

func TestVerifyStripeTolerance(t *testing.T) {
	body := []byte(`{}`)
	tests := []struct {
		name      string
		tolerance time.Duration
		offset    time.Duration
		ok        bool
	}{
		{"default past 299s", 0, -299 * time.Second, true},
		{"default past 301s", 0, -301 * time.Second, false},
		{"1m future 61s", time.Minute, 61 * time.Second, false},
		{"1m past 60s", time.Minute, -60 * time.Second, true},
		{"15m past 600s", 15 * time.Minute, -600 * time.Second, true},
		{"15m future 600s", 15 * time.Minute, 600 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := stripeConfig
			cfg.Tolerance = tt.tolerance
			v := mustVerifier(t, cfg)
			_, err := v.Verify(v.Sign(body, testNow.Add(tt.offset)), body, testNow)
			if tt.ok && err != nil {
				t.Errorf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, webhook.ErrTimestamp) {
				t.Errorf("error = %v, want ErrTimestamp", err)
			}
		})
	}
}
