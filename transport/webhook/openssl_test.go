package webhook_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/transport/webhook"
)

// opensslHMAC returns the HMAC-SHA256 of data under the bytes of secret,
// computed by `openssl dgst` on a file: lower-case hex, or base64 when
// b64 is set.
func opensslHMAC(t *testing.T, openssl, secret string, data []byte, b64 bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write body: %v", err)
	}
	if !b64 {
		out := runOpenSSL(t, openssl, nil, "dgst", "-sha256", "-hmac", secret, "-hex", path)
		// The output is "HMAC-SHA2-256(<path>)= <hex>".
		i := strings.LastIndex(out, "= ")
		if i < 0 {
			t.Fatalf("openssl dgst -hex printed %q, want \"...= <hex>\"", out)
		}
		return strings.TrimSpace(out[i+2:])
	}
	mac := runOpenSSL(t, openssl, nil, "dgst", "-sha256", "-hmac", secret, "-binary", path)
	return strings.TrimSpace(runOpenSSL(t, openssl, []byte(mac), "base64", "-A"))
}

func runOpenSSL(t *testing.T, openssl string, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), openssl, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", args[0], err, stderr.String())
	}
	return string(out)
}

var opensslBodies = map[string][]byte{
	"json":      []byte(`{"check":{"id":"chk_1","result":"clear","amount":9007199254740993}}`),
	"non-ascii": []byte(`{"name":"Zoë Ñandú ✓ 日本"}`),
	"empty":     {},
	"binary":    {0x00, 0xff, 0x2e, 0x0a, 0x0d, 0x2c},
}

func TestVerifyHMACOpenSSL(t *testing.T) {
	openssl := testenv.RequireProgram(t, "openssl")
	hexV := mustVerifier(t, githubConfig)
	b64V := mustVerifier(t, base64Config)
	for name, body := range opensslBodies {
		t.Run(name+"/hex", func(t *testing.T) {
			header := "sha256=" + opensslHMAC(t, openssl, hmacSecret, body, false)
			if _, err := hexV.Verify(http.Header{"X-Hub-Signature-256": {header}}, body, testNow); err != nil {
				t.Errorf("Verify rejected the openssl signature %q: %v", header, err)
			}
			if want := hexV.Sign(body, testNow).Get("X-Hub-Signature-256"); header != want {
				t.Errorf("openssl signed %q, Sign gives %q", header, want)
			}
		})
		t.Run(name+"/base64", func(t *testing.T) {
			header := opensslHMAC(t, openssl, hmacSecret, body, true)
			if _, err := b64V.Verify(http.Header{"X-Signature": {header}}, body, testNow); err != nil {
				t.Errorf("Verify rejected the openssl signature %q: %v", header, err)
			}
			if want := b64V.Sign(body, testNow).Get("X-Signature"); header != want {
				t.Errorf("openssl signed %q, Sign gives %q", header, want)
			}
		})
	}
}

// TestVerifyStripeOpenSSL signs "{t}.{body}" with openssl, keyed with the
// whole whsec_ secret as Stripe does.
func TestVerifyStripeOpenSSL(t *testing.T) {
	openssl := testenv.RequireProgram(t, "openssl")
	v := mustVerifier(t, stripeConfig)
	now := time.Unix(1_700_000_123, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	for name, body := range opensslBodies {
		t.Run(name, func(t *testing.T) {
			signed := append([]byte(ts+"."), body...)
			header := "t=" + ts + ",v1=" + opensslHMAC(t, openssl, stripeSecret, signed, false)
			if _, err := v.Verify(http.Header{webhook.DefaultStripeHeader: {header}}, body, now); err != nil {
				t.Errorf("Verify rejected the openssl signature %q: %v", header, err)
			}
			if want := v.Sign(body, now).Get(webhook.DefaultStripeHeader); header != want {
				t.Errorf("openssl signed %q, Sign gives %q", header, want)
			}
		})
	}
}
