package memory

import (
	"hash/maphash"
	"sync"

	"github.com/agentry/agentry/store"
)

// notifierShards spreads sessions over several locks so Notify and
// Subscribe calls for different sessions rarely contend.
const notifierShards = 64

// Notifier is an in-process [store.Notifier]: a per-session broadcast to
// buffered channels. It starts no goroutines and never polls; Notify does a
// non-blocking send to each subscriber, so it never waits for a slow reader
// and a burst of notifications coalesces into one pending wake-up. Each
// subscription costs one small struct and one channel.
//
// The memory store uses it, and a store of another kind can use it to fan
// wake-ups out to the waiters of one process. The zero value is not usable;
// call [NewNotifier].
type Notifier struct {
	seed   maphash.Seed
	shards [notifierShards]notifierShard
}

var _ store.Notifier = (*Notifier)(nil)

type notifierShard struct {
	mu sync.Mutex
	// heads maps a session id to the first subscription of a doubly linked
	// list, so cancel removes a subscription in constant time.
	heads map[string]*subscription
}

type subscription struct {
	wake       chan struct{}
	shard      *notifierShard
	sessionID  string
	prev, next *subscription
	removed    bool
}

// NewNotifier returns a notifier with no subscribers.
func NewNotifier() *Notifier {
	n := &Notifier{seed: maphash.MakeSeed()}
	for i := range n.shards {
		n.shards[i].heads = make(map[string]*subscription)
	}
	return n
}

func (n *Notifier) shard(sessionID string) *notifierShard {
	return &n.shards[maphash.String(n.seed, sessionID)%notifierShards]
}

// Subscribe returns a channel (buffer size 1) that receives a value after
// each Notify for the session, and the function that ends the
// subscription. Calling cancel more than once is safe. The channel is
// never closed.
func (n *Notifier) Subscribe(sessionID string) (<-chan struct{}, func()) {
	sh := n.shard(sessionID)
	sub := &subscription{wake: make(chan struct{}, 1), shard: sh, sessionID: sessionID}
	sh.mu.Lock()
	if head := sh.heads[sessionID]; head != nil {
		sub.next = head
		head.prev = sub
	}
	sh.heads[sessionID] = sub
	sh.mu.Unlock()
	return sub.wake, sub.cancel
}

func (sub *subscription) cancel() {
	sh := sub.shard
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sub.removed {
		return
	}
	sub.removed = true
	switch {
	case sub.prev != nil:
		sub.prev.next = sub.next
	case sub.next != nil:
		sh.heads[sub.sessionID] = sub.next
	default:
		delete(sh.heads, sub.sessionID)
	}
	if sub.next != nil {
		sub.next.prev = sub.prev
	}
	sub.prev, sub.next = nil, nil
}

// Notify wakes every subscriber of the session without blocking: a
// subscriber that has not read its previous wake-up keeps that one.
func (n *Notifier) Notify(sessionID string) {
	sh := n.shard(sessionID)
	sh.mu.Lock()
	for sub := sh.heads[sessionID]; sub != nil; sub = sub.next {
		wake(sub)
	}
	sh.mu.Unlock()
}

// NotifyAll wakes every subscriber of every session, for example when the
// store closes.
func (n *Notifier) NotifyAll() {
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.Lock()
		for _, head := range sh.heads {
			for sub := head; sub != nil; sub = sub.next {
				wake(sub)
			}
		}
		sh.mu.Unlock()
	}
}

func wake(sub *subscription) {
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}
