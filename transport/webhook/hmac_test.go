package webhook_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/agentry/agentry/transport/webhook"
)

// verifyHeader runs v.Verify on a request with one header line per value
// of the header name.
func verifyHeader(v *webhook.Verifier, name string, values []string, body []byte) error {
	h := http.Header{}
	for _, value := range values {
		h.Add(name, value)
	}
	_, err := v.Verify(h, body, testNow)
	return err
}

func TestVerifyHMACHex(t *testing.T) {
	v := mustVerifier(t, githubConfig)
	body := []byte(`{"check_id":"chk_1","result":"clear"}`)
	right := v.Sign(body, testNow).Get("X-Hub-Signature-256")
	digits := strings.TrimPrefix(right, "sha256=")
	otherBody := v.Sign([]byte(`{"check_id":"chk_1","result":"consider"}`), testNow).Get("X-Hub-Signature-256")
	otherSecret := mustVerifier(t, webhook.Inbound{Scheme: "hmac-sha256", Secret: "another secret",
		Header: "X-Hub-Signature-256", Prefix: "sha256="}).Sign(body, testNow).Get("X-Hub-Signature-256")
	mac := mustHex(t, digits)

	tests := []struct {
		name   string
		values []string
		want   error
	}{
		{"right", []string{right}, nil},
		{"upper hex", []string{"sha256=" + strings.ToUpper(digits)}, nil},
		{"mixed case hex", []string{"sha256=" + strings.ToUpper(digits[:10]) + digits[10:]}, nil},
		{"spaces around", []string{"  " + right + "\t"}, nil},

		{"absent", nil, webhook.ErrMissingHeader},
		{"empty", []string{""}, webhook.ErrMissingHeader},
		{"blank", []string{" \t "}, webhook.ErrMissingHeader},
		{"repeated", []string{right, right}, webhook.ErrMalformedHeader},
		{"no prefix", []string{digits}, webhook.ErrMalformedHeader},
		{"prefix only", []string{"sha256="}, webhook.ErrMalformedHeader},
		{"upper prefix", []string{"SHA256=" + digits}, webhook.ErrMalformedHeader},
		{"space after prefix", []string{"sha256= " + digits}, webhook.ErrMalformedHeader},
		{"odd length", []string{right[:len(right)-1]}, webhook.ErrMalformedHeader},
		{"truncated", []string{right[:len(right)-2]}, webhook.ErrMalformedHeader},
		{"one digit more", []string{right + "0"}, webhook.ErrMalformedHeader},
		{"not hex", []string{"sha256=" + strings.Repeat("g", 64)}, webhook.ErrMalformedHeader},
		{"base64", []string{"sha256=" + base64.StdEncoding.EncodeToString(mac)}, webhook.ErrMalformedHeader},
		{"two values comma", []string{right + "," + otherBody}, webhook.ErrMalformedHeader},
		{"two values space", []string{otherBody + " " + right}, webhook.ErrMalformedHeader},
		{"non-ASCII", []string{"sha256=" + digits[:60] + "é"}, webhook.ErrMalformedHeader},
		{"control byte", []string{"sha256=" + digits[:63] + "\x00"}, webhook.ErrMalformedHeader},
		{"8 KB", []string{"sha256=" + strings.Repeat("a", 8<<10)}, webhook.ErrMalformedHeader},
		{"other body", []string{otherBody}, webhook.ErrInvalidSignature},
		{"other secret", []string{otherSecret}, webhook.ErrInvalidSignature},
		{"zeros", []string{"sha256=" + strings.Repeat("0", 64)}, webhook.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyHeader(v, "X-Hub-Signature-256", tt.values, body)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), digits) {
				t.Errorf("error %q contains the signature", err)
			}
		})
	}
}

func TestVerifyHMACBase64(t *testing.T) {
	v := mustVerifier(t, base64Config)
	// Find a body whose signature has both '+' and '/' in standard
	// base64, so that the URL-safe form differs from it.
	var body []byte
	var mac []byte
	for i := 0; ; i++ {
		body = []byte(`{"n":` + strings.Repeat("1", i+1) + `}`)
		std := v.Sign(body, testNow).Get("X-Signature")
		if strings.Contains(std, "+") && strings.Contains(std, "/") {
			mac = mustBase64(t, std)
			break
		}
	}
	std := base64.StdEncoding.EncodeToString(mac)
	url := base64.URLEncoding.EncodeToString(mac)
	otherBody := v.Sign([]byte(`{"n":0}`), testNow).Get("X-Signature")
	// The 43rd character of a 32-byte value carries 4 bits of data and 2
	// zero bits. Setting the low zero bit changes the text, not the bytes.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	last := strings.IndexByte(alphabet, std[42])
	nonCanonical := std[:42] + string(alphabet[last|1]) + "="

	tests := []struct {
		name   string
		values []string
		want   error
	}{
		{"standard", []string{std}, nil},
		{"standard unpadded", []string{strings.TrimRight(std, "=")}, nil},
		{"url-safe", []string{url}, nil},
		{"url-safe unpadded", []string{strings.TrimRight(url, "=")}, nil},

		{"absent", nil, webhook.ErrMissingHeader},
		{"empty", []string{""}, webhook.ErrMissingHeader},
		{"mixed alphabets", []string{strings.Replace(std, "+", "-", 1)}, webhook.ErrMalformedHeader},
		{"truncated", []string{std[:40]}, webhook.ErrMalformedHeader},
		{"one more byte", []string{base64.StdEncoding.EncodeToString(append(mac, 0))}, webhook.ErrMalformedHeader},
		{"not base64", []string{strings.Repeat("!", 43) + "="}, webhook.ErrMalformedHeader},
		{"non-canonical bits", []string{nonCanonical}, webhook.ErrMalformedHeader},
		{"hex", []string{strings.Repeat("ab", 32)}, webhook.ErrMalformedHeader},
		{"line break", []string{std[:20] + "\r\n" + std[20:]}, webhook.ErrMalformedHeader},
		{"two values", []string{std + " " + std}, webhook.ErrMalformedHeader},
		{"other body", []string{otherBody}, webhook.ErrInvalidSignature},
		{"zeros", []string{base64.StdEncoding.EncodeToString(make([]byte, 32))}, webhook.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyHeader(v, "X-Signature", tt.values, body)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return b
}

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return b
}
