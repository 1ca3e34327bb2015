package memory

import (
	"container/heap"
	"sync"
	"time"
)

// deliveryIndex finds sessions that may have events to push, per sink, so
// ClaimDelivery does not scan every session. It is a hint: ClaimDelivery
// checks each candidate under the session's lock and drops the ones
// without work. A session re-enters a sink's ready queue whenever it may
// have gained work: an append, a new webhook URL, a resume or a release.
// It enters the timer queue for work that becomes due later: a retry, or
// the expiry of a lease that its holder may never release.
//
// Its lock is taken after a session's lock, never before, and after the
// store-wide lock when both are held.
type deliveryIndex struct {
	mu    sync.Mutex
	sinks map[string]*sinkWork
}

func newDeliveryIndex() *deliveryIndex {
	return &deliveryIndex{sinks: make(map[string]*sinkWork)}
}

// sinkWork holds one sink's candidate sessions.
type sinkWork struct {
	ready  readyQueue
	timers timerQueue
}

// markReady puts e in every sink's ready queue. The caller holds e.mu or
// is the only goroutine that can reach e.
func (x *deliveryIndex) markReady(e *sessionEntry) {
	x.mu.Lock()
	for _, w := range x.sinks {
		w.ready.push(e)
	}
	x.mu.Unlock()
}

// markAt makes e a candidate of the sink again at time at.
func (x *deliveryIndex) markAt(sink string, e *sessionEntry, at time.Time) {
	x.mu.Lock()
	if w := x.sinks[sink]; w != nil {
		heap.Push(&w.timers, timer{at: at, e: e})
	}
	x.mu.Unlock()
}

// has reports whether the sink's queues exist.
func (x *deliveryIndex) has(sink string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.sinks[sink] != nil
}

// addSink creates the sink's queues with every session in entries as a
// candidate, unless they exist. The caller holds the store-wide lock, so
// no session is created between listing entries and creating the queues.
func (x *deliveryIndex) addSink(sink string, entries []*sessionEntry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.sinks[sink] != nil {
		return
	}
	w := &sinkWork{}
	for _, e := range entries {
		w.ready.push(e)
	}
	x.sinks[sink] = w
}

// next removes and returns the sink's next candidate at now, after moving
// the timers due at now to the ready queue, or nil when there is none.
func (x *deliveryIndex) next(sink string, now time.Time) *sessionEntry {
	x.mu.Lock()
	defer x.mu.Unlock()
	w := x.sinks[sink]
	if w == nil {
		return nil
	}
	for len(w.timers) > 0 && !w.timers[0].at.After(now) {
		w.ready.push(heap.Pop(&w.timers).(timer).e)
	}
	return w.ready.pop()
}

// readyQueue is a FIFO of distinct sessions.
type readyQueue struct {
	items  []*sessionEntry
	head   int
	member map[*sessionEntry]struct{}
}

func (q *readyQueue) push(e *sessionEntry) {
	if q.member == nil {
		q.member = make(map[*sessionEntry]struct{})
	}
	if _, ok := q.member[e]; ok {
		return
	}
	q.member[e] = struct{}{}
	q.items = append(q.items, e)
}

func (q *readyQueue) pop() *sessionEntry {
	if q.head == len(q.items) {
		return nil
	}
	e := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	delete(q.member, e)
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head > len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return e
}

// timer makes e a candidate again at time at. A session may have several
// timers; a stale one costs one needless check.
type timer struct {
	at time.Time
	e  *sessionEntry
}

// timerQueue is a min-heap of timers, earliest first.
type timerQueue []timer

func (q timerQueue) Len() int           { return len(q) }
func (q timerQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q timerQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *timerQueue) Push(x any)        { *q = append(*q, x.(timer)) }
func (q *timerQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	old[len(old)-1] = timer{}
	*q = old[:len(old)-1]
	return t
}
