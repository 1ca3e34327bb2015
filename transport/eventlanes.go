package transport

import (
	"log/slog"
	"sync/atomic"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/sink"
)

// job is one claimed session for one sink.
type job struct {
	spec   *sinkSpec
	claim  store.DeliveryClaim
	target sink.Target
	// lost is set when the lease is gone: the heartbeat could not extend
	// it, so another owner may deliver the session now.
	lost atomic.Bool
	// queued is set when the claim waited for a free slot, so its lease
	// may have been lost meanwhile.
	queued bool
	// log is made on first use, because most jobs log nothing.
	log *slog.Logger
}

// logger returns base with the job's session and sink. Only the worker
// that runs the job calls it.
func (j *job) logger(base *slog.Logger) *slog.Logger {
	if j.log == nil {
		j.log = base.With("session_id", j.claim.Session.ID, "sink", j.claim.Sink)
	}
	return j.log
}

// lane is one receiver of one sink: the deliveries in flight to it and
// the claimed sessions that wait for a free slot.
type lane struct {
	key    string
	active int
	queue  []*job
}

// targetOf returns where the claimed session's events go.
func (d *EventDeliverer) targetOf(c store.DeliveryClaim) sink.Target {
	t := sink.Target{
		SessionID:  c.Session.ID,
		CustomerID: c.Session.CustomerID,
		Metadata:   c.Session.Metadata,
		URL:        c.Session.WebhookURL,
	}
	if t.URL == "" && d.cfg.DefaultURL != "" {
		t.URL, t.Default = d.cfg.DefaultURL, true
	}
	return t
}

// assign starts the claim at once when its receiver has a free slot, and
// queues it on the receiver's lane otherwise.
func (d *EventDeliverer) assign(s *sinkSpec, c store.DeliveryClaim) {
	j := &job{spec: s, claim: c, target: d.targetOf(c)}
	key := s.claim.Name
	if s.keyer != nil {
		key += " " + s.keyer.ReceiverKey(j.target)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	d.held[j] = struct{}{}
	l := d.lanes[key]
	if l == nil {
		l = &lane{key: key}
		d.lanes[key] = l
	}
	if l.active < d.cfg.MaxPerReceiver {
		l.active++
		d.wg.Add(1)
		go d.work(l, j)
		return
	}
	// NOTE: the queue has no bound. Every session of a receiver at its
	// bound waits here, holding its lease, which costs a job and a lease
	// renewal per session until the receiver frees a slot.
	j.queued = true
	l.queue = append(l.queue, j)
}

// work delivers j and then the lane's queued claims, one after another,
// until the queue is empty. During shutdown each remaining claim is
// released without an attempt.
func (d *EventDeliverer) work(l *lane, j *job) {
	defer d.wg.Done()
	for j != nil {
		d.deliver(j)
		j = d.next(l, j)
	}
}

// next drops the finished claim from the held set and takes the lane's
// next claim, or frees the lane's slot and returns nil.
func (d *EventDeliverer) next(l *lane, done *job) *job {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.held, done)
	if len(l.queue) > 0 {
		j := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		return j
	}
	l.active--
	if l.active == 0 {
		delete(d.lanes, l.key)
	}
	return nil
}
