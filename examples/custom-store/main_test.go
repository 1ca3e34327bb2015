package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	t.Setenv("SEALED_STORE_KEY", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var buf bytes.Buffer
	if err := run(ctx, &buf); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, buf.String())
	}
	out := buf.String()

	stored, reread, ok := strings.Cut(out, "after reopening")
	if !ok {
		t.Fatalf("output has no history read after reopening:\n%s", out)
	}
	_, ciphertext, ok := strings.Cut(stored, "stored in agentry.db:")
	if !ok {
		t.Fatalf("output does not show the stored form of the message:\n%s", out)
	}
	if !strings.Contains(ciphertext, `{"sealed":"`) {
		t.Errorf("stored form %q is not a sealed envelope", ciphertext)
	}
	if strings.Contains(ciphertext, "4111") {
		t.Errorf("stored form %q contains the card number in plain text", ciphertext)
	}
	if !strings.Contains(stored, "agent:    Hello! You said:") {
		t.Errorf("no agent reply printed before the reopen:\n%s", stored)
	}
	if !strings.Contains(reread, "4111 1111 1111 1111") {
		t.Errorf("history after reopening lacks the decrypted customer message:\n%s", reread)
	}
	if !strings.Contains(reread, `{"status":"ready"}`) {
		t.Errorf("history after reopening lacks the end of the turn:\n%s", reread)
	}
}

func TestRunRejectsBadKey(t *testing.T) {
	t.Setenv("SEALED_STORE_KEY", "abc")
	if err := run(context.Background(), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Errorf("run with a short key error = %v, want one asking for 64 hex digits", err)
	}
}
