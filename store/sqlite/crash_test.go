package sqlite

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/storetest"
)

// crashChildEnv makes the test binary act as the process that is killed:
// it writes to the store at the path in the variable until it dies.
const crashChildEnv = "AGENTRY_SQLITE_CRASH_CHILD"

const (
	crashSession     = "crash"
	crashTurnSession = "crash-turn"
	crashHeldRun     = "held"
	crashSink        = "crash-sink"
	// crashLeaseTTL is the lease the child takes on the held run and the
	// turn. The parent's clock passes it after the child died.
	crashLeaseTTL = time.Minute
	// crashEvents is how many acknowledged appends the parent waits for
	// before it kills the child.
	crashEvents = 150
)

func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		if err := runCrashChild(path); err != nil {
			fmt.Printf("child failed: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}

	path := filepath.Join(t.TempDir(), "agentry.db")
	acks := runAndKillCrashChild(t, path)
	t.Logf("child acknowledged %d events, %d runs and %d deliveries before SIGKILL",
		len(acks.events), len(acks.runs), len(acks.deliveries))

	start := time.Now().UTC()
	clock := storetest.NewClockAt(start)
	s := openTestStore(t, path, clock.Now)
	ctx := context.Background()

	events, err := s.ListEvents(ctx, crashSession, 0, 0)
	if err != nil {
		t.Fatalf("ListEvents after the crash: %v", err)
	}
	for i, ev := range events {
		if ev.Offset != int64(i) {
			t.Fatalf("event %d has offset %d: offsets have a gap", i, ev.Offset)
		}
		if want := fmt.Sprintf(`{"i":%d}`, i); string(ev.Payload) != want {
			t.Errorf("event %d payload = %s, want %s", i, ev.Payload, want)
		}
	}
	for _, offset := range acks.events {
		if offset >= int64(len(events)) {
			t.Errorf("acknowledged event at offset %d is missing: the log has %d events", offset, len(events))
		}
	}

	for _, id := range acks.runs {
		r, err := s.GetRun(ctx, id)
		if err != nil {
			t.Errorf("GetRun(%q) of an acknowledged run: %v", id, err)
			continue
		}
		if r.Status != store.RunSucceeded {
			t.Errorf("acknowledged run %q has status %q, want %q", id, r.Status, store.RunSucceeded)
		}
	}

	sess, err := s.GetSession(ctx, crashSession)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(acks.deliveries); n > 0 {
		last := acks.deliveries[n-1]
		if got := sess.Deliveries[crashSink].Cursor; got <= last {
			t.Errorf("delivery cursor = %d, want past the last acknowledged delivery at offset %d", got, last)
		}
	}

	checkCrashLeases(t, s, clock)
}

// checkCrashLeases checks that the leases the dead child held stay held
// until they expire by the store's clock, and can be claimed after.
func checkCrashLeases(t *testing.T, s *Store, clock *storetest.Clock) {
	ctx := context.Background()
	held, err := s.GetRun(ctx, crashHeldRun)
	if err != nil {
		t.Fatal(err)
	}
	if !held.Lease.Held(clock.Now()) {
		t.Fatalf("held run's lease %+v is not held right after the crash", held.Lease)
	}
	if _, ok, err := s.ClaimTurn(ctx, crashTurnSession, "parent", time.Minute); err != nil || ok {
		t.Fatalf("ClaimTurn before the dead child's lease expired = ok %v, err %v; want not claimable", ok, err)
	}

	clock.Advance(crashLeaseTTL + time.Second)
	claim, ok, err := s.ClaimRun(ctx, "parent", time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimRun after the lease expired = ok %v, err %v; want the held run", ok, err)
	}
	if claim.Run.ID != crashHeldRun || claim.Run.Attempts != 2 {
		t.Errorf("ClaimRun after the lease expired took run %q at attempt %d, want %q at attempt 2",
			claim.Run.ID, claim.Run.Attempts, crashHeldRun)
	}
	if _, ok, err := s.ClaimTurn(ctx, crashTurnSession, "parent", time.Minute); err != nil || !ok {
		t.Errorf("ClaimTurn after the dead child's lease expired = ok %v, err %v; want claimed", ok, err)
	}
}

// crashAcks lists what the child reported as acknowledged.
type crashAcks struct {
	events     []int64
	runs       []string
	deliveries []int64
}

// runAndKillCrashChild starts the child, reads its acknowledgements until
// it has appended crashEvents events, kills it with SIGKILL and returns
// every acknowledgement it printed before dying.
func runAndKillCrashChild(t *testing.T, path string) crashAcks {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedWrites$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	var acks crashAcks
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		kind, value, _ := strings.Cut(lines.Text(), " ")
		switch kind {
		case "event", "delivery":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				t.Fatalf("child printed %q: %v", lines.Text(), err)
			}
			if kind == "event" {
				acks.events = append(acks.events, n)
			} else {
				acks.deliveries = append(acks.deliveries, n)
			}
		case "run":
			acks.runs = append(acks.runs, value)
		case "child":
			t.Fatalf("child: %s", lines.Text())
		}
		if len(acks.events) == crashEvents && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill child: %v", err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before it was killed: %v", err)
	}
	if status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || status.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want death by SIGKILL", cmd.ProcessState)
	}
	return acks
}

// runCrashChild takes a run lease and a turn lease, then appends events,
// runs runs and delivers events until the process is killed. It prints
// one line per acknowledged write, after the call returned.
func runCrashChild(path string) error {
	ctx := context.Background()
	s, err := Open(ctx, path, WithLogger(discardLogger()))
	if err != nil {
		return err
	}
	if _, _, err := s.CreateSession(ctx, store.Session{ID: crashSession}, nil); err != nil {
		return err
	}
	if _, _, err := s.CreateSession(ctx, store.Session{ID: crashTurnSession}, nil); err != nil {
		return err
	}
	if _, err := s.Append(ctx, crashTurnSession, []store.NewEvent{textEvent("hi")}, store.AppendOptions{Trigger: true}); err != nil {
		return err
	}
	if _, ok, err := s.ClaimTurn(ctx, crashTurnSession, "child", crashLeaseTTL); err != nil || !ok {
		return fmt.Errorf("claim turn: ok %v, err %v", ok, err)
	}
	if _, _, err := s.CreateRun(ctx, store.Run{ID: crashHeldRun, Status: store.RunQueued, MaxAttempts: 3}); err != nil {
		return err
	}
	if c, ok, err := s.ClaimRun(ctx, "child", crashLeaseTTL); err != nil || !ok || c.Run.ID != crashHeldRun {
		return fmt.Errorf("claim held run: ok %v, err %v", ok, err)
	}

	var delivery store.DeliveryClaim
	for i := 0; ; i++ {
		payload := json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
		added, err := s.Append(ctx, crashSession, []store.NewEvent{{Kind: "k", Payload: payload}}, store.AppendOptions{})
		if err != nil {
			return err
		}
		fmt.Printf("event %d\n", added[0].Offset)

		id := fmt.Sprintf("r-%d", i)
		if _, _, err := s.CreateRun(ctx, store.Run{ID: id, Status: store.RunQueued}); err != nil {
			return err
		}
		c, ok, err := s.ClaimRun(ctx, "child", crashLeaseTTL)
		if err != nil || !ok {
			return fmt.Errorf("claim run %q: ok %v, err %v", id, ok, err)
		}
		if _, err := s.CompleteRun(ctx, c, store.RunResult{Status: store.RunSucceeded, Output: payload}); err != nil {
			return err
		}
		fmt.Printf("run %s\n", c.Run.ID)

		if delivery.Sink == "" {
			delivery, ok, err = s.ClaimDelivery(ctx, store.DeliverySink{Name: crashSink}, "child", time.Now(), crashLeaseTTL)
			if err != nil || !ok {
				return fmt.Errorf("claim delivery: ok %v, err %v", ok, err)
			}
		}
		d, err := s.RecordDelivery(ctx, delivery, store.DeliveryOutcome{Offset: delivery.Delivery.Cursor, Delivered: true})
		if err != nil {
			return err
		}
		fmt.Printf("delivery %d\n", delivery.Delivery.Cursor)
		delivery.Delivery = d
	}
}
