package ratelog

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReportLimits(t *testing.T) {
	var buf bytes.Buffer
	e := New(slog.New(slog.NewTextHandler(&buf, nil)), "claiming failed")
	e.interval = 50 * time.Millisecond

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { e.Report(errors.New("connection refused"), "worker", 1) })
	}
	wg.Wait()
	if got := strings.Count(buf.String(), "claiming failed"); got != 1 {
		t.Fatalf("20 reports within the interval wrote %d lines, want 1:\n%s", got, buf.String())
	}

	time.Sleep(60 * time.Millisecond)
	e.Report(errors.New("connection refused"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("a report after the interval wrote %d lines in all, want 2:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[1], "repeats_not_logged=19") {
		t.Errorf("second line %q does not count the 19 reports left out", lines[1])
	}
	if !strings.Contains(lines[0], "error=\"connection refused\"") || !strings.Contains(lines[0], "worker=1") {
		t.Errorf("first line %q lacks the error or the caller's attributes", lines[0])
	}
}
