package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/transport/webhook"
)

func TestVerifierStandard(t *testing.T) {
	v := mustVerifier(t, standardConfig)
	key := mustKey(t, testSecret)
	body := []byte(`{"type":"kyc.completed","applicant":"a_1"}`)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	right := webhook.Sign(key, "msg_1", testNow, body)
	wrong := webhook.Sign([]byte("another key"), "msg_1", testNow, body)
	longID := strings.Repeat("m", webhook.MaxIDBytes+1)

	// headers builds a request header; a nil value leaves the header out.
	headers := func(id, timestamp, signature []string) http.Header {
		h := http.Header{}
		for name, values := range map[string][]string{
			webhook.HeaderID: id, webhook.HeaderTimestamp: timestamp, webhook.HeaderSignature: signature,
		} {
			for _, value := range values {
				h.Add(name, value)
			}
		}
		return h
	}
	single := func(s string) []string { return []string{s} }
	signedAt := func(offset time.Duration) (string, string) {
		h := webhook.Headers([][]byte{key}, "msg_1", testNow.Add(offset), body)
		return h.Get(webhook.HeaderTimestamp), h.Get(webhook.HeaderSignature)
	}
	past, pastSig := signedAt(-600 * time.Second)
	future, futureSig := signedAt(600 * time.Second)

	tests := []struct {
		name string
		h    http.Header
		want error
	}{
		{"right", headers(single("msg_1"), single(ts), single(right)), nil},
		{"wrong then right", headers(single("msg_1"), single(ts), single(wrong+" "+right)), nil},
		{"right then wrong", headers(single("msg_1"), single(ts), single(right+" "+wrong)), nil},

		{"no id", headers(nil, single(ts), single(right)), webhook.ErrMissingHeader},
		{"no timestamp", headers(single("msg_1"), nil, single(right)), webhook.ErrMissingHeader},
		{"no signature", headers(single("msg_1"), single(ts), nil), webhook.ErrMissingHeader},
		{"empty id", headers(single(""), single(ts), single(right)), webhook.ErrMissingHeader},
		{"empty signature", headers(single("msg_1"), single(ts), single("")), webhook.ErrMissingHeader},
		{"repeated id", headers([]string{"msg_1", "msg_2"}, single(ts), single(right)), webhook.ErrMalformedHeader},
		{"repeated timestamp", headers(single("msg_1"), []string{ts, ts}, single(right)), webhook.ErrMalformedHeader},
		{"repeated signature", headers(single("msg_1"), single(ts), []string{wrong, right}), webhook.ErrMalformedHeader},
		{"long id", headers(single(longID), single(ts), single(right)), webhook.ErrMalformedHeader},
		{"non-ASCII id", headers(single("msg_✓"), single(ts), single(right)), webhook.ErrMalformedHeader},
		{"non-ASCII signature", headers(single("msg_1"), single(ts), single(right+" v1,héllo")), webhook.ErrMalformedHeader},
		{"8 KB signature", headers(single("msg_1"), single(ts), single(strings.Repeat(wrong+" ", 8<<10/48)+right)), webhook.ErrMalformedHeader},
		{"t=abc", headers(single("msg_1"), single("t=abc"), single(right)), webhook.ErrTimestamp},
		{"milliseconds", headers(single("msg_1"), single(strconv.FormatInt(testNow.UnixMilli(), 10)), single(right)), webhook.ErrTimestamp},
		{"past 600s", headers(single("msg_1"), single(past), single(pastSig)), webhook.ErrTimestamp},
		{"future 600s", headers(single("msg_1"), single(future), single(futureSig)), webhook.ErrTimestamp},
		{"wrong only", headers(single("msg_1"), single(ts), single(wrong)), webhook.ErrInvalidSignature},
		{"other id", headers(single("msg_2"), single(ts), single(right)), webhook.ErrInvalidSignature},
		{"v0 only", headers(single("msg_1"), single(ts), single("v0,"+strings.TrimPrefix(right, "v1,"))), webhook.ErrInvalidSignature},
		{"empty v1", headers(single("msg_1"), single(ts), single("v1,")), webhook.ErrInvalidSignature},
		{"stripe style", headers(single("msg_1"), single(ts), single("t="+ts+",v1="+strings.TrimPrefix(right, "v1,"))), webhook.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(tt.h, body, testNow)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if id != "msg_1" {
					t.Errorf("delivery id = %q, want msg_1", id)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if id != "" {
				t.Errorf("Verify returned the id %q with the error %v", id, err)
			}
		})
	}
}
