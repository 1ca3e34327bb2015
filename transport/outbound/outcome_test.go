package outbound

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		kind       Kind
		wait       time.Duration
	}{
		{200, "", Delivered, 0},
		{201, "", Delivered, 0},
		{204, "", Delivered, 0},
		{299, "", Delivered, 0},
		{410, "", Gone, 0},
		{410, "60", Gone, 0},
		{429, "30", Retry, 30 * time.Second},
		{429, "", Retry, 0},
		{500, "", Retry, 0},
		{502, "junk", Retry, 0},
		{503, "120", Retry, 2 * time.Minute},
		{301, "", Retry, 0},
		{302, "", Retry, 0},
		{400, "", Retry, 0},
		{401, "", Retry, 0},
		{403, "", Retry, 0},
		{404, "60", Retry, 0},
		{422, "", Retry, 0},
		{499, "", Retry, 0},
		{599, "5", Retry, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.retryAfter), func(t *testing.T) {
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.status >= 300 && tt.status < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
			}))
			defer server.Close()
			client := mustClient(t, Config{AllowPrivateNetworks: true})

			resp, err := get(t, client, server.URL)
			out := Classify(resp, err)
			if out.Kind != tt.kind {
				t.Errorf("Kind = %s, want %s", out.Kind, tt.kind)
			}
			if out.StatusCode != tt.status {
				t.Errorf("StatusCode = %d, want %d", out.StatusCode, tt.status)
			}
			if out.RetryAfter != tt.wait {
				t.Errorf("RetryAfter = %s, want %s", out.RetryAfter, tt.wait)
			}
			if got := out.Error == ""; got != (tt.kind == Delivered) {
				t.Errorf("Error = %q for kind %s", out.Error, out.Kind)
			}
			if tt.kind != Delivered && !strings.Contains(out.Error, fmt.Sprint(tt.status)) {
				t.Errorf("Error %q does not name status %d", out.Error, tt.status)
			}
		})
	}
}

func TestClassifyError(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	req, err := http.NewRequestWithContext(cancelled, http.MethodGet, "http://127.0.0.1:9/", nil)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	_, cancelErr := NewTrusted(Config{}).Do(req)

	_, blockedErr := get(t, mustClient(t, Config{}), "http://169.254.169.254/")

	tests := []struct {
		name string
		err  error
		want string
	}{
		{"cancelled", cancelErr, "request cancelled"},
		{"deadline", context.DeadlineExceeded, "request timed out"},
		{"blocked", blockedErr, "cloud metadata"},
		{"long", fmt.Errorf("%s", strings.Repeat("é", 300)), "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Classify(nil, tt.err)
			if out.Kind != Retry {
				t.Errorf("Kind = %s, want retry", out.Kind)
			}
			if out.StatusCode != 0 {
				t.Errorf("StatusCode = %d, want 0", out.StatusCode)
			}
			if !strings.Contains(out.Error, tt.want) {
				t.Errorf("Error = %q, want it to contain %q", out.Error, tt.want)
			}
			if len(out.Error) > maxErrorLen+len("…") {
				t.Errorf("Error is %d bytes, want at most %d", len(out.Error), maxErrorLen+len("…"))
			}
		})
	}
}

func TestClassifyNoResponse(t *testing.T) {
	if out := Classify(nil, nil); out.Kind != Retry || out.Error == "" {
		t.Errorf("Classify(nil, nil) = %+v, want Retry with an error text", out)
	}
}

func TestKindString(t *testing.T) {
	tests := map[Kind]string{Delivered: "delivered", Gone: "gone", Retry: "retry", 0: "Kind(0)"}
	for kind, want := range tests {
		if got := kind.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(kind), got, want)
		}
	}
}
