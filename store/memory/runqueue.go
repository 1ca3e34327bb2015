package memory

import (
	"container/heap"
	"strings"

	"github.com/agentry/agentry/store"
)

// Run queues. A run is in at most one of queueClaimable and queueLeased,
// and in at most one of queueCallbackDue and queueCallbackLeased.
const (
	// queueClaimable holds queued runs and running runs whose lease was
	// seen expired, oldest CreatedAt first.
	queueClaimable = iota
	// queueLeased holds running runs with a lease, earliest expiry first.
	queueLeased
	// queueCallbackDue holds pending callbacks without a held lease,
	// earliest NextAttemptAt first.
	queueCallbackDue
	// queueCallbackLeased holds pending callbacks with a lease, earliest
	// expiry first.
	queueCallbackLeased
	queueCount
)

// runEntry is one stored run and its position in each queue.
type runEntry struct {
	r store.Run
	// pos[q] is the run's index in queue q, or -1 when it is not in q.
	pos [queueCount]int
}

func newRunEntry(r store.Run) *runEntry {
	e := &runEntry{r: r}
	for i := range e.pos {
		e.pos[i] = -1
	}
	return e
}

// runQueue is a binary min-heap of runs that records each run's index, so
// a run is removed or reordered in O(log n). The fields a queue orders by
// must not change while the run is in it, except through fix.
type runQueue struct {
	id      int
	entries []*runEntry
	less    func(a, b *store.Run) bool
}

func newRunQueue(id int) *runQueue {
	q := &runQueue{id: id}
	switch id {
	case queueClaimable:
		q.less = func(a, b *store.Run) bool { return earlier(a.CreatedAt.Compare(b.CreatedAt), a.ID, b.ID) }
	case queueLeased:
		q.less = func(a, b *store.Run) bool { return earlier(a.Lease.Expires.Compare(b.Lease.Expires), a.ID, b.ID) }
	case queueCallbackDue:
		q.less = func(a, b *store.Run) bool {
			if c := a.Callback.NextAttemptAt.Compare(b.Callback.NextAttemptAt); c != 0 {
				return c < 0
			}
			return earlier(a.CreatedAt.Compare(b.CreatedAt), a.ID, b.ID)
		}
	case queueCallbackLeased:
		q.less = func(a, b *store.Run) bool {
			return earlier(a.Callback.Lease.Expires.Compare(b.Callback.Lease.Expires), a.ID, b.ID)
		}
	default:
		panic("memory: unknown run queue")
	}
	return q
}

// earlier orders by a time comparison, then by id to break ties.
func earlier(timeOrder int, idA, idB string) bool {
	if timeOrder != 0 {
		return timeOrder < 0
	}
	return strings.Compare(idA, idB) < 0
}

// Len, Less, Swap, Push and Pop implement [heap.Interface]. Other code
// calls add, remove, fix, peek and popFirst instead.
func (q *runQueue) Len() int           { return len(q.entries) }
func (q *runQueue) Less(i, j int) bool { return q.less(&q.entries[i].r, &q.entries[j].r) }

func (q *runQueue) Swap(i, j int) {
	q.entries[i], q.entries[j] = q.entries[j], q.entries[i]
	q.entries[i].pos[q.id] = i
	q.entries[j].pos[q.id] = j
}

func (q *runQueue) Push(x any) {
	e := x.(*runEntry)
	e.pos[q.id] = len(q.entries)
	q.entries = append(q.entries, e)
}

func (q *runQueue) Pop() any {
	last := len(q.entries) - 1
	e := q.entries[last]
	q.entries[last] = nil
	q.entries = q.entries[:last]
	e.pos[q.id] = -1
	return e
}

// add inserts e, which must not be in the queue.
func (q *runQueue) add(e *runEntry) { heap.Push(q, e) }

// remove takes e out of the queue if it is there.
func (q *runQueue) remove(e *runEntry) {
	if i := e.pos[q.id]; i >= 0 {
		heap.Remove(q, i)
	}
}

// fix restores the order after e's ordering field changed.
func (q *runQueue) fix(e *runEntry) {
	if i := e.pos[q.id]; i >= 0 {
		heap.Fix(q, i)
	}
}

// peek returns the first run, or nil when the queue is empty.
func (q *runQueue) peek() *runEntry {
	if len(q.entries) == 0 {
		return nil
	}
	return q.entries[0]
}

// popFirst removes and returns the first run.
func (q *runQueue) popFirst() *runEntry { return heap.Pop(q).(*runEntry) }
