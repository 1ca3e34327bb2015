package webhook_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/transport/webhook"
)

// FuzzVerify checks that Verify never panics and accepts a header only
// when it contains the exact signature that Sign makes.
func FuzzVerify(f *testing.F) {
	key := mustKey(f, testSecret)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	body := []byte(`{"a":1}`)
	right := webhook.Sign(key, "msg_1", testNow, body)
	f.Add("msg_1", ts, right, body)
	f.Add("msg_1", ts, "v1,x "+right, body)
	f.Add("msg_1", "t=abc", right, body)
	f.Add("msg_1", strconv.FormatInt(testNow.UnixMilli(), 10), right, body)
	f.Add("", "", "", []byte(nil))
	f.Add("msg.1", ts, "v0,AAAA v1, v1a,AAAA", []byte("\x00\xff"))
	f.Add("msg_1", ts, strings.Repeat("v1,QUFB ", 64), body)

	f.Fuzz(func(t *testing.T, id, timestamp, signature string, body []byte) {
		err := webhook.Verify([][]byte{key}, id, timestamp, signature, body, testNow, 0)
		if err != nil {
			return
		}
		unix, parseErr := strconv.ParseInt(timestamp, 10, 64)
		if parseErr != nil {
			t.Fatalf("Verify accepted timestamp %q, which is not Unix seconds", timestamp)
		}
		want := webhook.Sign(key, id, time.Unix(unix, 0), body)
		if !slices.Contains(strings.Fields(signature), want) {
			t.Fatalf("Verify accepted %q, which lacks the signature %q", signature, want)
		}
	})
}

// checkStripeAccepted fails t unless header has exactly one t entry and a
// v1 entry that equals, in either letter case, the signature that Sign
// makes for body at that time.
func checkStripeAccepted(t *testing.T, v *webhook.Verifier, header string, body []byte) time.Time {
	t.Helper()
	var stamps, v1 []string
	for entry := range strings.SplitSeq(header, ",") {
		entry = strings.Trim(entry, " \t")
		if ts, ok := strings.CutPrefix(entry, "t="); ok {
			stamps = append(stamps, ts)
		}
		if sig, ok := strings.CutPrefix(entry, "v1="); ok {
			v1 = append(v1, sig)
		}
	}
	if len(stamps) != 1 {
		t.Fatalf("Verify accepted %q, which has %d t entries", header, len(stamps))
	}
	unix, err := strconv.ParseUint(stamps[0], 10, 63)
	if err != nil {
		t.Fatalf("Verify accepted t=%q, which is not Unix seconds", stamps[0])
	}
	at := time.Unix(int64(unix), 0)
	signed := v.Sign(body, at).Get(webhook.DefaultStripeHeader)
	_, want, _ := strings.Cut(signed, ",v1=")
	if !slices.ContainsFunc(v1, func(sig string) bool { return strings.EqualFold(sig, want) }) {
		t.Fatalf("Verify accepted %q, which lacks the signature %q", header, signed)
	}
	return at
}

// checkHMACAccepted fails t unless value, without spaces and tabs at
// either end, is the prefix and an encoding of the MAC that Sign makes:
// hex in either letter case, or base64 in either alphabet, with or
// without padding.
func checkHMACAccepted(t *testing.T, v *webhook.Verifier, cfg webhook.Inbound, value string, body []byte) {
	t.Helper()
	value = strings.Trim(value, " \t")
	signed := v.Sign(body, testNow).Get(cfg.Header)
	rest, ok := strings.CutPrefix(value, cfg.Prefix)
	if !ok {
		t.Fatalf("Verify accepted %q, which lacks the prefix %q", value, cfg.Prefix)
	}
	want := strings.TrimPrefix(signed, cfg.Prefix)
	if cfg.Encoding == webhook.EncodingHex {
		if !strings.EqualFold(rest, want) {
			t.Fatalf("Verify accepted %q, want %q", value, signed)
		}
		return
	}
	mac, err := base64.StdEncoding.DecodeString(want)
	if err != nil {
		t.Fatalf("Sign made %q, which is not base64: %v", signed, err)
	}
	forms := []string{
		base64.StdEncoding.EncodeToString(mac), base64.RawStdEncoding.EncodeToString(mac),
		base64.URLEncoding.EncodeToString(mac), base64.RawURLEncoding.EncodeToString(mac),
	}
	if !slices.Contains(forms, rest) {
		t.Fatalf("Verify accepted %q, which is none of %q", value, forms)
	}
}

// FuzzVerifyStripe checks that the stripe header parser never panics and
// accepts a header only when it carries the signature that Sign makes.
func FuzzVerifyStripe(f *testing.F) {
	v := mustVerifier(f, stripeConfig)
	body := []byte(`{"id":"evt_1"}`)
	right := v.Sign(body, testNow).Get(webhook.DefaultStripeHeader)
	ts, sig, _ := strings.Cut(right, ",")
	now := strconv.FormatInt(testNow.Unix(), 10)
	for _, header := range []string{
		right,
		ts + ",v1=" + strings.Repeat("0", 64) + "," + sig,
		sig + "," + ts,
		ts + ",v0=" + strings.TrimPrefix(sig, "v1="),
		ts + ",v1=",
		"t=abc," + sig,
		"t=" + strconv.FormatInt(testNow.UnixMilli(), 10) + "," + sig,
		ts + "," + ts + "," + sig,
		ts + ",v1=" + strings.TrimPrefix(sig, "v1=")[:63],
		ts + ",v1=é" + strings.TrimPrefix(sig, "v1=")[2:],
		right + strings.Repeat(",v0=00", 8<<10/6),
		"t=" + now, ",,,", "=", "t", "",
	} {
		f.Add(header, body)
	}

	f.Fuzz(func(t *testing.T, header string, body []byte) {
		id, err := v.Verify(http.Header{webhook.DefaultStripeHeader: {header}}, body, testNow)
		if err != nil {
			if id != "" {
				t.Fatalf("Verify returned the id %q with the error %v", id, err)
			}
			return
		}
		at := checkStripeAccepted(t, v, header, body)
		canonical, err := v.Verify(v.Sign(body, at), body, testNow)
		if err != nil || canonical != id {
			t.Fatalf("Verify(Sign) = %q, %v; want the id %q of the accepted header", canonical, err, id)
		}
	})
}

// FuzzVerifyHMAC checks that the hmac-sha256 header parser never panics
// and accepts a value only when it encodes the signature that Sign makes.
func FuzzVerifyHMAC(f *testing.F) {
	configs := []webhook.Inbound{githubConfig, base64Config}
	verifiers := []*webhook.Verifier{mustVerifier(f, githubConfig), mustVerifier(f, base64Config)}
	body := []byte(`{"check":"clear"}`)
	for i, v := range verifiers {
		right := v.Sign(body, testNow).Get(configs[i].Header)
		for _, value := range []string{
			right, " " + right + " ", strings.ToUpper(right), right[:len(right)-1], right + "=",
			right + "," + right, right + " " + right, strings.Repeat(right, 200),
			"sha256=" + strings.Repeat("g", 64), strings.ReplaceAll(right, "+", "-"), "", "sha256=",
		} {
			f.Add(uint8(i), value, body)
		}
	}

	f.Fuzz(func(t *testing.T, which uint8, value string, body []byte) {
		i := int(which) % len(verifiers)
		v, cfg := verifiers[i], configs[i]
		id, err := v.Verify(http.Header{cfg.Header: {value}}, body, testNow)
		if err != nil {
			if id != "" {
				t.Fatalf("Verify returned the id %q with the error %v", id, err)
			}
			return
		}
		checkHMACAccepted(t, v, cfg, value, body)
		canonical, err := v.Verify(v.Sign(body, testNow), body, testNow)
		if err != nil || canonical != id {
			t.Fatalf("Verify(Sign) = %q, %v; want the id %q of the accepted header", canonical, err, id)
		}
	})
}

// FuzzVerifier checks Verifier.Verify over arbitrary headers and bodies
// for each scheme: it never panics, and it accepts only the signature
// that Sign makes for the body.
func FuzzVerifier(f *testing.F) {
	configs := []webhook.Inbound{standardConfig, githubConfig, base64Config, stripeConfig}
	verifiers := make([]*webhook.Verifier, len(configs))
	for i, cfg := range configs {
		verifiers[i] = mustVerifier(f, cfg)
	}
	key := mustKey(f, testSecret)
	body := []byte(`{"a":1}`)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	standard := webhook.Sign(key, "msg_1", testNow, body)
	f.Add(uint8(0), "msg_1", ts, standard, false, body)
	f.Add(uint8(0), "msg_1", ts, standard, true, body)
	f.Add(uint8(0), "msg_1", ts, "v1,x "+standard, false, body)
	f.Add(uint8(0), "", "", "", false, []byte(nil))
	f.Add(uint8(0), strings.Repeat("m", 300), ts, standard, false, body)
	for i := 1; i < len(configs); i++ {
		signed := verifiers[i].Sign(body, testNow)
		for _, values := range signed {
			f.Add(uint8(i), "", "", values[0], false, body)
			f.Add(uint8(i), "", "", values[0], true, body)
			f.Add(uint8(i), "", "", values[0]+",", false, []byte("\x00\xff"))
		}
	}

	f.Fuzz(func(t *testing.T, which uint8, id, timestamp, signature string, repeat bool, body []byte) {
		i := int(which) % len(configs)
		v, cfg := verifiers[i], configs[i]
		h := http.Header{}
		name := cfg.Header
		switch cfg.Scheme {
		case webhook.SchemeStandard:
			h.Set(webhook.HeaderID, id)
			h.Set(webhook.HeaderTimestamp, timestamp)
			name = webhook.HeaderSignature
		case webhook.SchemeStripe:
			name = webhook.DefaultStripeHeader
		}
		h.Set(name, signature)
		if repeat {
			h.Add(name, signature)
		}

		deliveryID, err := v.Verify(h, body, testNow)
		if err != nil {
			if deliveryID != "" {
				t.Fatalf("Verify returned the id %q with the error %v", deliveryID, err)
			}
			return
		}
		if repeat {
			t.Fatalf("Verify accepted a repeated %s header", name)
		}
		switch cfg.Scheme {
		case webhook.SchemeStandard:
			id, timestamp = strings.Trim(id, " \t"), strings.Trim(timestamp, " \t")
			unix, err := strconv.ParseInt(timestamp, 10, 64)
			if err != nil {
				t.Fatalf("Verify accepted timestamp %q, which is not Unix seconds", timestamp)
			}
			want := webhook.Sign(key, id, time.Unix(unix, 0), body)
			if !slices.Contains(strings.Fields(signature), want) {
				t.Fatalf("Verify accepted %q, which lacks the signature %q", signature, want)
			}
			if deliveryID != id {
				t.Fatalf("delivery id = %q, want the %s %q", deliveryID, webhook.HeaderID, id)
			}
		case webhook.SchemeStripe:
			checkStripeAccepted(t, v, signature, body)
		default:
			checkHMACAccepted(t, v, cfg, signature, body)
		}
	})
}
