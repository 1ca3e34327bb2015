package webhook_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/transport/webhook"
)

// testSecret is a 24-byte key in the whsec_ form.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var testNow = time.Unix(1_700_000_000, 0)

func mustKey(t testing.TB, secret string) []byte {
	t.Helper()
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatalf("ParseSecret: %v", err)
	}
	return key
}

func TestParseSecret(t *testing.T) {
	key := mustKey(t, testSecret)
	want, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(testSecret, "whsec_"))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if string(key) != string(want) {
		t.Errorf("key = %x, want the decoded base64 %x", key, want)
	}
	if string(key) == strings.TrimPrefix(testSecret, "whsec_") {
		t.Error("key is the text after whsec_, want its base64 decoding")
	}
	// encoding/base64 skips line breaks, so a secret read from a file with
	// a final newline gives the same key.
	if got := mustKey(t, testSecret+"\n"); string(got) != string(want) {
		t.Errorf("key with a final newline = %x, want %x", got, want)
	}
}

func TestParseSecretInvalid(t *testing.T) {
	tests := []struct {
		name   string
		secret string
	}{
		{"empty", ""},
		{"no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		{"wrong prefix", "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		{"upper prefix", "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		{"prefix only", "whsec_"},
		{"not base64", "whsec_not*base64!secret"},
		{"missing padding", "whsec_c2VjcmV0"[:13]},
		{"url alphabet", "whsec_ab-_cd-_ab-_cd-_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook.ParseSecret(tt.secret)
			if !errors.Is(err, webhook.ErrInvalidSecret) {
				t.Fatalf("error = %v, want ErrInvalidSecret", err)
			}
			body := strings.TrimPrefix(tt.secret, "whsec_")
			if len(body) > 4 && strings.Contains(err.Error(), body) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

// TestSignKnownVector uses inputs whose signature the standardwebhooks npm
// package 1.3.0 computes the same way.
func TestSignKnownVector(t *testing.T) {
	key := mustKey(t, testSecret)
	got := webhook.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestSignTruncatesToSeconds(t *testing.T) {
	key := mustKey(t, testSecret)
	body := []byte(`{}`)
	whole := webhook.Sign(key, "msg_1", testNow, body)
	fraction := webhook.Sign(key, "msg_1", testNow.Add(999*time.Millisecond), body)
	if whole != fraction {
		t.Errorf("Sign differs within one second: %q and %q", whole, fraction)
	}
}

func TestVerifyRoundTrip(t *testing.T) {
	keys := [][]byte{mustKey(t, testSecret)}
	body := []byte(`{"run_id":"run_1","status":"succeeded","output":{"total":42}}`)
	h := webhook.Headers(keys, "run_1", testNow, body)

	err := webhook.Verify(keys, h.Get(webhook.HeaderID), h.Get(webhook.HeaderTimestamp),
		h.Get(webhook.HeaderSignature), body, testNow, 5*time.Minute)
	if err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestVerifyTampered(t *testing.T) {
	keys := [][]byte{mustKey(t, testSecret)}
	body := []byte(`{"amount":100}`)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	signature := webhook.Sign(keys[0], "msg_1", testNow, body)

	tests := []struct {
		name      string
		id        string
		timestamp string
		body      string
	}{
		{"body", "msg_1", ts, `{"amount":900}`},
		{"body suffix", "msg_1", ts, `{"amount":100} `},
		{"id", "msg_2", ts, string(body)},
		{"timestamp", "msg_1", strconv.FormatInt(testNow.Unix()+1, 10), string(body)},
		// The separator moves: same bytes, other fields.
		{"shifted dot", "msg_1." + ts, ts, string(body)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(keys, tt.id, tt.timestamp, signature, []byte(tt.body), testNow, 0)
			if !errors.Is(err, webhook.ErrInvalidSignature) {
				t.Errorf("error = %v, want ErrInvalidSignature", err)
			}
		})
	}
}

func TestVerifySeveralSignatures(t *testing.T) {
	key := mustKey(t, testSecret)
	other := []byte("another key of twenty-four bytes")
	body := []byte(`{"event":"message"}`)
	right := webhook.Sign(key, "msg_1", testNow, body)
	wrong := webhook.Sign(other, "msg_1", testNow, body)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	zeros := "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
	rightV0 := "v0," + strings.TrimPrefix(right, "v1,")

	tests := []struct {
		name   string
		header string
		ok     bool
	}{
		{"right only", right, true},
		{"wrong then right", wrong + " " + right, true},
		{"right then wrong", right + " " + wrong, true},
		{"zeros then right", zeros + " " + right, true},
		{"asymmetric then right", "v1a,aGVsbG8= " + right, true},
		{"junk then right", "garbage v1,!!! v1, " + right, true},
		{"extra spaces", "  " + wrong + "   " + right + "  ", true},
		{"wrong only", wrong, false},
		{"wrong twice", wrong + " " + wrong, false},
		{"v0 only", rightV0, false},
		{"empty v1", "v1,", false},
		{"bare base64", strings.TrimPrefix(right, "v1,"), false},
		{"upper version", "V1," + strings.TrimPrefix(right, "v1,"), false},
		{"stripe style", "t=" + ts + ",v1=" + strings.TrimPrefix(right, "v1,"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify([][]byte{key}, "msg_1", ts, tt.header, body, testNow, 0)
			if tt.ok && err != nil {
				t.Errorf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, webhook.ErrInvalidSignature) {
				t.Errorf("error = %v, want ErrInvalidSignature", err)
			}
		})
	}
}

func TestVerifyKeyRotation(t *testing.T) {
	current := mustKey(t, testSecret)
	previous := []byte("the previous signing key")
	unrelated := []byte("a key nobody signed with")
	body := []byte(`{}`)
	header := webhook.SignHeader([][]byte{current, previous}, "msg_1", testNow, body)
	ts := strconv.FormatInt(testNow.Unix(), 10)

	if n := len(strings.Fields(header)); n != 2 {
		t.Fatalf("SignHeader gave %d signatures, want 2: %q", n, header)
	}
	if first := strings.Fields(header)[0]; first != webhook.Sign(current, "msg_1", testNow, body) {
		t.Errorf("first signature %q is not the current key's", first)
	}
	tests := []struct {
		name string
		keys [][]byte
		ok   bool
	}{
		{"current", [][]byte{current}, true},
		{"previous", [][]byte{previous}, true},
		{"unrelated then previous", [][]byte{unrelated, previous}, true},
		{"unrelated", [][]byte{unrelated}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.keys, "msg_1", ts, header, body, testNow, 0)
			if tt.ok && err != nil {
				t.Errorf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, webhook.ErrInvalidSignature) {
				t.Errorf("error = %v, want ErrInvalidSignature", err)
			}
		})
	}
}

func TestVerifyTolerance(t *testing.T) {
	key := mustKey(t, testSecret)
	body := []byte(`{}`)
	tests := []struct {
		name      string
		offset    time.Duration
		tolerance time.Duration
		ok        bool
	}{
		{"now", 0, 5 * time.Minute, true},
		{"past edge", -300 * time.Second, 5 * time.Minute, true},
		{"future edge", 300 * time.Second, 5 * time.Minute, true},
		{"past 301s", -301 * time.Second, 5 * time.Minute, false},
		{"future 301s", 301 * time.Second, 5 * time.Minute, false},
		{"past 600s", -600 * time.Second, 5 * time.Minute, false},
		{"future 600s", 600 * time.Second, 5 * time.Minute, false},
		{"default past 600s", -600 * time.Second, 0, false},
		{"default future 600s", 600 * time.Second, 0, false},
		{"default past 299s", -299 * time.Second, 0, true},
		{"wide 600s", -600 * time.Second, 15 * time.Minute, true},
		{"epoch", -time.Duration(testNow.Unix()) * time.Second, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := testNow.Add(tt.offset)
			h := webhook.Headers([][]byte{key}, "msg_1", sent, body)
			err := webhook.Verify([][]byte{key}, "msg_1", h.Get(webhook.HeaderTimestamp),
				h.Get(webhook.HeaderSignature), body, testNow, tt.tolerance)
			if tt.ok && err != nil {
				t.Errorf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, webhook.ErrTimestamp) {
				t.Errorf("error = %v, want ErrTimestamp", err)
			}
		})
	}
}

func TestVerifyJunkHeaders(t *testing.T) {
	key := mustKey(t, testSecret)
	body := []byte(`{}`)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	right := webhook.Sign(key, "msg_1", testNow, body)
	millis := strconv.FormatInt(testNow.UnixMilli(), 10)

	tests := []struct {
		name      string
		keys      [][]byte
		id        string
		timestamp string
		signature string
		want      error
	}{
		{"empty id", [][]byte{key}, "", ts, right, webhook.ErrMissingHeader},
		{"empty timestamp", [][]byte{key}, "msg_1", "", right, webhook.ErrMissingHeader},
		{"empty signature", [][]byte{key}, "msg_1", ts, "", webhook.ErrMissingHeader},
		{"blank signature", [][]byte{key}, "msg_1", ts, " \t ", webhook.ErrMissingHeader},
		{"no keys", nil, "msg_1", ts, right, webhook.ErrInvalidSecret},
		{"t=abc", [][]byte{key}, "msg_1", "t=abc", right, webhook.ErrTimestamp},
		{"abc", [][]byte{key}, "msg_1", "abc", right, webhook.ErrTimestamp},
		{"milliseconds", [][]byte{key}, "msg_1", millis, right, webhook.ErrTimestamp},
		{"negative", [][]byte{key}, "msg_1", "-" + ts, right, webhook.ErrTimestamp},
		{"plus sign", [][]byte{key}, "msg_1", "+" + ts, right, webhook.ErrTimestamp},
		{"space", [][]byte{key}, "msg_1", " " + ts, right, webhook.ErrTimestamp},
		{"fraction", [][]byte{key}, "msg_1", ts + ".5", right, webhook.ErrTimestamp},
		{"arabic digits", [][]byte{key}, "msg_1", "١٧٠٠٠٠٠٠٠٠", right, webhook.ErrTimestamp},
		{"overflow", [][]byte{key}, "msg_1", "99999999999999999999999", right, webhook.ErrTimestamp},
		{"8 KB signature", [][]byte{key}, "msg_1", ts, strings.Repeat("v1,QUFB", 8<<10/7), webhook.ErrInvalidSignature},
		{"8 KB one token", [][]byte{key}, "msg_1", ts, "v1," + strings.Repeat("A", 8<<10), webhook.ErrInvalidSignature},
		{"non-ASCII signature", [][]byte{key}, "msg_1", ts, "v1,héllo wörld ✓", webhook.ErrInvalidSignature},
		{"invalid UTF-8", [][]byte{key}, "msg_1", ts, "v1,\xff\xfe\x00", webhook.ErrInvalidSignature},
		{"odd base64", [][]byte{key}, "msg_1", ts, "v1,abc", webhook.ErrInvalidSignature},
		{"comma only", [][]byte{key}, "msg_1", ts, ",", webhook.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.keys, tt.id, tt.timestamp, tt.signature, body, testNow, 0)
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyErrorHidesSecrets(t *testing.T) {
	key := mustKey(t, testSecret)
	body := []byte(`{}`)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	sent := webhook.Sign([]byte("some other key"), "msg_1", testNow, body)
	expected := webhook.Sign(key, "msg_1", testNow, body)

	err := webhook.Verify([][]byte{key}, "msg_1", ts, sent, body, testNow, 0)
	if err == nil {
		t.Fatal("Verify accepted a signature made with another key")
	}
	for name, secret := range map[string]string{
		"expected signature": strings.TrimPrefix(expected, "v1,"),
		"sent signature":     strings.TrimPrefix(sent, "v1,"),
		"secret":             strings.TrimPrefix(testSecret, "whsec_"),
		"key":                string(key),
	} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains the %s", err, name)
		}
	}
}

func TestHeaders(t *testing.T) {
	key := mustKey(t, testSecret)
	body := []byte(`{}`)

	h := webhook.Headers([][]byte{key}, "run_1", testNow, body)
	if got := h.Get(webhook.HeaderID); got != "run_1" {
		t.Errorf("%s = %q, want run_1", webhook.HeaderID, got)
	}
	if got := h.Get(webhook.HeaderTimestamp); got != "1700000000" {
		t.Errorf("%s = %q, want 1700000000", webhook.HeaderTimestamp, got)
	}
	if got, want := h.Get(webhook.HeaderSignature), webhook.Sign(key, "run_1", testNow, body); got != want {
		t.Errorf("%s = %q, want %q", webhook.HeaderSignature, got, want)
	}
	if len(h) != 3 {
		t.Errorf("Headers returned %d headers, want 3: %v", len(h), h)
	}

	unsigned := webhook.Headers(nil, "run_1", testNow, body)
	if _, ok := unsigned[http.CanonicalHeaderKey(webhook.HeaderSignature)]; ok {
		t.Errorf("Headers without keys set %s", webhook.HeaderSignature)
	}
	if len(unsigned) != 2 {
		t.Errorf("Headers without keys returned %d headers, want 2: %v", len(unsigned), unsigned)
	}
}

func TestSignHeaderNoKeys(t *testing.T) {
	if got := webhook.SignHeader(nil, "msg_1", testNow, nil); got != "" {
		t.Errorf("SignHeader(nil) = %q, want empty", got)
	}
}
