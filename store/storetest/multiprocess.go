package storetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// childEnv is the environment variable that makes Run act as a child. Its
// value is a JSON [childTask].
const childEnv = "AGENTRY_STORETEST_CHILD"

// childLinePrefix starts every line of the child's protocol on stdout, so
// the parent skips whatever else the test binary prints.
const childLinePrefix = "storetest-child: "

// childTimeout bounds a child process's whole life: start, opening the
// store and its task. The parent kills a child that runs longer.
const childTimeout = 60 * time.Second

// Sizes of the cross-process checks: each process appends
// multiAppendWriters x multiAppendsPerWriter events, and both claim from
// multiRuns runs.
const (
	multiAppendWriters    = 4
	multiAppendsPerWriter = 25
	multiRuns             = 30
)

// Child tasks.
const (
	// taskAppend appends Count events, one per call, from Writers
	// goroutines and reports their offsets.
	taskAppend = "append"
	// taskClaimRuns claims runs as Owner until none is left and reports
	// their ids.
	taskClaimRuns = "claim-runs"
	// taskRequestCancel requests the cancel of Session's turn and reports
	// whether the store took the request.
	taskRequestCancel = "request-cancel"
)

// childTask is the work a child process performs.
type childTask struct {
	Op      string `json:"op"`
	Address string `json:"address"`
	Session string `json:"session,omitempty"`
	Writers int    `json:"writers,omitempty"`
	Count   int    `json:"count,omitempty"`
	Owner   string `json:"owner,omitempty"`
}

// childResult is the child's report after its task: the offsets it
// appended, the runs it claimed or the result of its cancel request.
type childResult struct {
	Offsets         []int64  `json:"offsets,omitempty"`
	RunIDs          []string `json:"run_ids,omitempty"`
	CancelRequested bool     `json:"cancel_requested,omitempty"`
}

func (h *harness) multiProcessChecks() []check {
	if h.opts.MultiProcess == nil {
		return skipArea("Options.MultiProcess is nil: the store serves one process")
	}
	return []check{
		{"Appends", h.testMultiProcessAppends},
		{"ClaimRuns", h.testMultiProcessClaimRuns},
		{"Notifier", h.testMultiProcessNotifier},
		{"RequestCancel", h.testMultiProcessRequestCancel},
	}
}

// testMultiProcessAppends appends from a child process and this one at
// the same time: offsets are unique and gapless across both.
func (h *harness) testMultiProcessAppends(t *testing.T) {
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")
	child := h.startChild(t, childTask{
		Op: taskAppend, Address: h.opts.MultiProcess.Address(t, s), Session: "s-1",
		Writers: multiAppendWriters, Count: multiAppendWriters * multiAppendsPerWriter,
	})
	child.begin(t)

	returned, err := appendFromWriters(s, "s-1", multiAppendWriters, multiAppendWriters*multiAppendsPerWriter, "parent")
	if err != nil {
		t.Errorf("Append in the parent: %v", err)
	}
	res := child.wait(t)
	if len(res.Offsets) != multiAppendWriters*multiAppendsPerWriter {
		t.Errorf("child appended %d events, want %d", len(res.Offsets), multiAppendWriters*multiAppendsPerWriter)
	}
	checkGapless(t, s, "s-1", append(returned, res.Offsets...))
}

// testMultiProcessClaimRuns claims runs from a child process and this one
// at the same time: no run is claimed twice and every run is claimed.
func (h *harness) testMultiProcessClaimRuns(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	for i := range multiRuns {
		r := newRun(fmt.Sprintf("run-%02d", i))
		r.CreatedAt = clock.Now().Add(time.Duration(i) * time.Second)
		mustCreateRun(t, s, r)
	}
	child := h.startChild(t, childTask{
		Op: taskClaimRuns, Address: h.opts.MultiProcess.Address(t, s), Owner: "child",
	})
	child.begin(t)

	var parentIDs []string
	for len(parentIDs) < claimLimit(multiRuns) {
		c, ok, err := s.ClaimRun(ctx, "parent", longTTL)
		if err != nil {
			t.Fatalf("ClaimRun in the parent: %v", err)
		}
		if !ok {
			break
		}
		parentIDs = append(parentIDs, c.Run.ID)
	}
	res := child.wait(t)
	t.Logf("parent claimed %d runs, child %d", len(parentIDs), len(res.RunIDs))

	claims := make(map[string]int)
	for _, id := range slices.Concat(parentIDs, res.RunIDs) {
		claims[id]++
	}
	assertClaimedOnce(t, claims, multiRuns, "run", " across both processes")
}

// testMultiProcessNotifier subscribes here and appends in a child
// process: the waiter here is woken.
func (h *harness) testMultiProcessNotifier(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")
	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	if evs, err := s.ListEvents(ctx, "s-1", 0, listAll); err != nil || len(evs) != 0 {
		t.Fatalf("ListEvents before the child's append = %d events, %v; want none", len(evs), err)
	}

	child := h.startChild(t, childTask{
		Op: taskAppend, Address: h.opts.MultiProcess.Address(t, s), Session: "s-1", Writers: 1, Count: 1,
	})
	child.begin(t)
	res := child.wait(t)
	if len(res.Offsets) != 1 {
		t.Fatalf("child appended %d events, want 1", len(res.Offsets))
	}
	expectWake(t, wake, "an Append in another process")
	evs, err := s.ListEvents(ctx, "s-1", 0, listAll)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(evs) != 1 {
		t.Errorf("woken waiter read %d events, want 1", len(evs))
	}
}

// child is a running child process.
type child struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stdin  io.WriteCloser
	lines  chan string
	stderr *lockedBuffer
	done   chan error
}

// lockedBuffer is a bytes.Buffer that the process's stderr copier writes
// while a failing check reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startChild starts the test binary as a child that performs task, and
// kills it when the subtest ends if it is still running.
func (h *harness) startChild(t *testing.T, task childTask) *child {
	t.Helper()
	encoded, err := json.Marshal(task)
	if err != nil {
		t.Fatalf("marshal child task: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	// The child runs without -test.paniconexit0, which go test passes to
	// the parent, so the child may end itself with os.Exit(0).
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+runPattern(h.testName), "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+string(encoded))
	c := &child{cmd: cmd, cancel: cancel, lines: make(chan string, 16), stderr: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = c.stderr
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		cancel()
		t.Fatalf("child stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("child stdout: %v", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start child process %s: %v", os.Args[0], err)
	}
	t.Cleanup(cancel)
	go func() {
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for scanner.Scan() {
			if line, ok := strings.CutPrefix(scanner.Text(), childLinePrefix); ok {
				c.lines <- line
			}
		}
		close(c.lines)
		c.done <- cmd.Wait()
	}()
	return c
}

// begin waits until the child has opened the store, then sends it the
// signal to start its task.
func (c *child) begin(t *testing.T) {
	t.Helper()
	line, ok := <-c.lines
	if !ok || line != "ready" {
		c.fail(t, fmt.Sprintf("child reported %q before its task, want ready", line))
	}
	if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
		c.fail(t, fmt.Sprintf("tell the child to start: %v", err))
	}
}

// wait returns the child's result after it exited with status 0.
func (c *child) wait(t *testing.T) childResult {
	t.Helper()
	var res childResult
	got := false
	for line := range c.lines {
		if encoded, ok := strings.CutPrefix(line, "result "); ok {
			if err := json.Unmarshal([]byte(encoded), &res); err != nil {
				c.fail(t, fmt.Sprintf("decode the child's result %q: %v", encoded, err))
			}
			got = true
		}
	}
	if err := <-c.done; err != nil {
		c.fail(t, fmt.Sprintf("child process failed: %v", err))
	}
	if !got {
		c.fail(t, "child process exited without a result")
	}
	return res
}

// fail ends the subtest with msg and the child's stderr.
func (c *child) fail(t *testing.T, msg string) {
	t.Helper()
	c.cancel()
	t.Fatalf("%s\nchild stderr:\n%s", msg, c.stderr.String())
}

// runPattern returns the -test.run pattern that selects exactly the test
// named name, a subtest path included.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// runChild performs the child task encoded in task with a store opened by
// opts.MultiProcess, reports its result on stdout and exits the process:
// with status 0 on success, or 1 with a message on stderr.
func runChild(opts Options, task string) {
	if err := performChild(opts, task, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "storetest child process: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func performChild(opts Options, encoded string, stdin io.Reader, stdout io.Writer) error {
	if opts.MultiProcess == nil || opts.MultiProcess.Open == nil {
		return fmt.Errorf("%s is set but Options.MultiProcess.Open is nil: pass the same options in every process", childEnv)
	}
	var task childTask
	if err := json.Unmarshal([]byte(encoded), &task); err != nil {
		return fmt.Errorf("decode task from %s: %w", childEnv, err)
	}
	s, err := opts.MultiProcess.Open(task.Address)
	if err != nil {
		return fmt.Errorf("open the store at the parent's address: %w", err)
	}
	defer s.Close()

	fmt.Fprintln(stdout, childLinePrefix+"ready")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "go" {
		return fmt.Errorf("read the start signal from the parent: got %q, %v", line, err)
	}

	var res childResult
	switch task.Op {
	case taskAppend:
		res.Offsets, err = appendFromWriters(s, task.Session, task.Writers, task.Count, "child")
	case taskClaimRuns:
		res.RunIDs, err = childClaimRuns(s, task)
	case taskRequestCancel:
		res.CancelRequested, err = childRequestCancel(s, task)
	default:
		err = fmt.Errorf("unknown task %q: want %s, %s or %s", task.Op, taskAppend, taskClaimRuns, taskRequestCancel)
	}
	if err != nil {
		return err
	}
	encodedRes, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	fmt.Fprintln(stdout, childLinePrefix+"result "+string(encodedRes))
	return nil
}

// childClaimRuns claims runs as task.Owner until none is left and returns
// their ids.
func childClaimRuns(s store.Store, task childTask) ([]string, error) {
	var ids []string
	for len(ids) < claimLimit(multiRuns) {
		c, ok, err := s.ClaimRun(context.Background(), task.Owner, longTTL)
		if err != nil {
			return ids, fmt.Errorf("claim run as %q: %w", task.Owner, err)
		}
		if !ok {
			return ids, nil
		}
		ids = append(ids, c.Run.ID)
	}
	return ids, nil
}
