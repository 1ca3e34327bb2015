package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// relayedLine is one printed event: its offset, speaker and text.
type relayedLine struct {
	offset  int64
	speaker string
	text    string
}

// parseRelayed reads the "#N speaker: text" lines of out.
func parseRelayed(t *testing.T, out string) []relayedLine {
	t.Helper()
	var lines []relayedLine
	for l := range strings.Lines(out) {
		rest, ok := strings.CutPrefix(l, "#")
		if !ok {
			continue
		}
		num, rest, _ := strings.Cut(rest, " ")
		offset, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			t.Fatalf("line %q: offset %q is not a number", l, num)
		}
		speaker, text, _ := strings.Cut(strings.TrimSpace(rest), ":")
		lines = append(lines, relayedLine{offset, speaker, strings.TrimSpace(text)})
	}
	return lines
}

func TestRelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var buf bytes.Buffer
	sum, err := run(ctx, &buf)
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, buf.String())
	}
	out := buf.String()
	lines := parseRelayed(t, out)

	if sum.Relayed == 0 || int64(sum.Relayed) != sum.NextOffset {
		t.Errorf("relayed %d events, session has %d: every event should arrive over the webhook",
			sum.Relayed, sum.NextOffset)
	}
	if len(lines) == 0 || lines[0].offset != 0 || lines[0].speaker != "agent" {
		t.Fatalf("first relayed line = %+v, want the greeting at offset 0\n%s", lines, out)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i].offset <= lines[i-1].offset {
			t.Errorf("line %d has offset %d after %d: out of order\n%s", i, lines[i].offset, lines[i-1].offset, out)
		}
	}

	// Each customer message is relayed, in script order, and followed by
	// an agent reply.
	next := 0
	for i, l := range lines {
		if l.speaker != "customer" {
			continue
		}
		if next == len(script) || l.text != script[next] {
			t.Fatalf("customer line %q, want script message %d\n%s", l.text, next, out)
		}
		next++
		if i+1 == len(lines) || lines[i+1].speaker != "agent" {
			t.Errorf("no agent reply relayed after %q\n%s", l.text, out)
		}
	}
	if next != len(script) {
		t.Errorf("%d of %d customer messages relayed\n%s", next, len(script), out)
	}
	if !strings.Contains(out, "relayed "+strconv.Itoa(sum.Relayed)+" events in order") {
		t.Errorf("output has no summary line\n%s", out)
	}
}
