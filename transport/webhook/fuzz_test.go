package webhook_test

import (
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
