package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRunCitesMatchingDocs(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"} {
		t.Setenv(k, "")
	}
	// wantDoc is the document each of questions must cite first.
	wantDoc := []string{"docs/getting-started.md", "docs/troubleshooting.md", "docs/warranty.md"}
	// wantReply is a phrase of each scripted reply.
	wantReply := []string{"QR code", "between 1 and 2 bar", "30 days"}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var buf bytes.Buffer
	got, err := run(ctx, &buf, questions)
	out := buf.String()
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out)
	}
	if len(got) != len(questions) {
		t.Fatalf("%d exchanges, want %d", len(got), len(questions))
	}
	for i, x := range got {
		if x.Question != questions[i] {
			t.Errorf("exchange %d asks %q, want %q", i, x.Question, questions[i])
		}
		if !strings.Contains(x.Reply, wantReply[i]) {
			t.Errorf("reply to %q = %q, want it to contain %q", x.Question, x.Reply, wantReply[i])
		}
		if len(x.Citations) == 0 {
			t.Errorf("reply to %q cites nothing, want %s first", x.Question, wantDoc[i])
			continue
		}
		first := x.Citations[0]
		if doc, _, _ := strings.Cut(first.ID, "#"); doc != wantDoc[i] {
			t.Errorf("reply to %q cites %s first (all: %+v), want %s", x.Question, first.ID, x.Citations, wantDoc[i])
		}
		if first.Title == "" {
			t.Errorf("citation %s has no title", first.ID)
		}
		if first.Score <= 0 {
			t.Errorf("citation %s has score %v, want a positive cosine similarity", first.ID, first.Score)
		}
		if len(x.Citations) > 2 {
			t.Errorf("reply to %q cites %d chunks, more than top_k 2", x.Question, len(x.Citations))
		}
		line := fmt.Sprintf("cites %s %q", first.ID, first.Title)
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
		if !strings.Contains(out, "customer: "+x.Question) {
			t.Errorf("output lacks the question %q", x.Question)
		}
	}
}

func TestRelativeID(t *testing.T) {
	tests := []struct {
		name, dir, id, want string
	}{
		{"inside", "/tmp/x", "/tmp/x/docs/a.md#2", "docs/a.md#2"},
		{"outside", "/tmp/x", "/srv/docs/a.md#0", "/srv/docs/a.md#0"},
		{"not a path", "/tmp/x", "faq-7", "faq-7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := relativeID(tt.dir, tt.id); got != tt.want {
				t.Errorf("relativeID(%q, %q) = %q, want %q", tt.dir, tt.id, got, tt.want)
			}
		})
	}
}
