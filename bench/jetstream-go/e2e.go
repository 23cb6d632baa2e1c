// The produce-to-consume mode of the Go peer (-mode e2e), for bench/e2e.ts: see the top of main.go.
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// e2eHeader is what an e2e record starts with: its sequence number (4 bytes) and its send time (8 bytes of
// nanoseconds since the run's base on the monotonic clock), big-endian as the Node peer's.
const e2eHeader = 12

// A publish is taken as lost, and published again, once JetStream has answered one sent e2eLostAfter after it
// (a stream answers one connection's publishes in order), or when no PubAck at all has come for e2eSilence (the
// last publishes of a run have nothing after them). A slow PubAck is only slow: an overloaded stream answers
// seconds late, and publishing again what is merely late would add to its load.
const (
	e2eLostAfter = 100 * time.Millisecond
	e2eSilence   = 5 * time.Second
)

// endToEnd is the produce-to-consume run (see the top of this file). Publishes go out pipelined with a reply
// subject per record, at most -window unacknowledged (a publish waits for room): nats.go 1.22's PublishAsync
// keeps a future whose PubAck never comes in its window forever, and an overloaded R3 stream does drop publishes
// (a stream leader change mid-run answers none of those in flight), which stalled the run. A publish without its
// PubAck that JetStream skipped (see e2eLostAfter) goes out again with the same Nats-Msg-Id (JetStream keeps it
// once) and the same stamp, so the loss counts in its latency. A late tick sends what the schedule says is due, never an unbounded loop.
// Every record must arrive exactly once and the stream must hold exactly what was sent, or the run fails.
func endToEnd(o options) (map[string]interface{}, error) {
	warm := int(math.Round(o.rate * o.warmupS))
	total := warm + int(math.Round(o.rate*o.seconds))
	if total-warm < 1 || total > math.MaxUint32 {
		return nil, fmt.Errorf("%d records is out of range", total)
	}
	if err := recreateStream(o); err != nil {
		return nil, err
	}
	nc, _, err := connectToLeader(o)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	sc, _, err := connectToLeader(o)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	sjs, err := sc.JetStream()
	if err != nil {
		return nil, err
	}

	base := time.Now()
	latency := make([]float64, total)
	arrived := make([]bool, total)
	var consumed, duplicates, strays int
	done := make(chan struct{})
	// The callback runs on the subscription's one goroutine: the counters are read here only after done.
	sub, err := subscribeOrdered(sjs, o, func(m *nats.Msg) {
		now := time.Since(base).Nanoseconds()
		if len(m.Data) < e2eHeader {
			strays++
			return
		}
		seq := int(binary.BigEndian.Uint32(m.Data))
		if seq >= total {
			strays++
			return
		}
		if arrived[seq] {
			duplicates++
			return
		}
		arrived[seq] = true
		latency[seq] = float64(now-int64(binary.BigEndian.Uint64(m.Data[4:]))) / 1e6
		if consumed++; consumed == total {
			close(done)
		}
	})
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()

	p, err := newE2ePublisher(nc, o, total, base)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	ticker := time.NewTicker(time.Millisecond)
	t0 := time.Now()
	t0ns := t0.Sub(base).Nanoseconds()
	last := t0
	var measuredFrom time.Time
	for n := 0; n < total; {
		now := <-ticker.C
		tickAt := time.Since(base).Nanoseconds()
		due := int(time.Since(t0).Seconds() * o.rate)
		if due > total {
			due = total
		}
		// The measured phase starts with the tick before the one that sends its first record.
		if n <= warm && due > warm {
			measuredFrom = last
		}
		for ; n < due; n++ {
			// A record is stamped with the tick that made it due, as the Node peer's, but never more than a tick
			// after its due time: while the window is full a publish waits here and the ticks fall behind, and
			// that wait must count in the latency of the records behind it (no coordinated omission).
			at := tickAt
			if latest := t0ns + int64(float64(n+1)/o.rate*1e9) + int64(time.Millisecond); latest < at {
				at = latest
			}
			if err := p.publish(n, at); err != nil {
				ticker.Stop()
				return nil, err
			}
		}
		last = now
	}
	ticker.Stop()
	sendEnd := time.Now()
	if warm == 0 {
		measuredFrom = t0
	}
	if err := p.waitAll(); err != nil {
		return nil, err
	}
	select {
	case <-done:
	case <-time.After(time.Until(o.deadline)):
		return nil, fmt.Errorf("%d/%d records consumed before the deadline", consumed, total)
	}
	info, err := streamInfo(nc, o.stream)
	if err != nil {
		return nil, err
	}
	if duplicates != 0 || strays != 0 || info.State.Msgs != uint64(total) {
		return nil, fmt.Errorf("sent %d, consumed %d (duplicates %d, strays %d), stored %d", total, consumed, duplicates, strays, info.State.Msgs)
	}
	measured := latency[warm:]
	acks := p.ackLatency[warm:]
	sort.Float64s(measured)
	sort.Float64s(acks)
	return map[string]interface{}{
		"records":                total - warm,
		"offered_records_per_s":  int64(o.rate + 0.5),
		"achieved_records_per_s": int64(float64(total-warm)/sendEnd.Sub(measuredFrom).Seconds() + 0.5),
		"p50_ms":                 percentile(measured, 0.5),
		"p99_ms":                 percentile(measured, 0.99),
		"p999_ms":                percentile(measured, 0.999),
		"max_ms":                 measured[len(measured)-1],
		"produce_ack_p50_ms":     percentile(acks, 0.5),
		"produce_ack_p99_ms":     percentile(acks, 0.99),
		"republished":            p.republishedCount(),
		"seconds":                time.Since(t0).Seconds(),
		"window":                 o.window,
		"server":                 nc.ConnectedServerName(),
	}, nil
}

// e2ePublisher publishes records with a reply subject each, holds at most o.window unacknowledged, and publishes
// again what JetStream skipped.
type e2ePublisher struct {
	nc         *nats.Conn
	o          options
	inbox      string
	base       time.Time
	sub        *nats.Subscription
	room       chan struct{}
	ticker     *time.Ticker
	quit       chan struct{}
	mu         sync.Mutex
	data       [][]byte // each record as published (nil once acknowledged)
	sentAt     []int64  // its stamp (ns since base)
	lastSend   []time.Time
	ackLatency []float64 // stamp to its first PubAck, ms
	inFlight   map[int]struct{}
	acked      int
	published  int
	failure    error
	allAcked   chan struct{}
	// answeredSent is the latest send time of a publish with its PubAck, lastAckAt when the last PubAck came.
	answeredSent time.Time
	lastAckAt    time.Time
	// republished counts publishes sent again, JetStream having skipped them.
	republished int
}

func newE2ePublisher(nc *nats.Conn, o options, total int, base time.Time) (*e2ePublisher, error) {
	p := &e2ePublisher{
		nc: nc, o: o, base: base, inbox: nats.NewInbox() + ".",
		room:       make(chan struct{}, o.window),
		data:       make([][]byte, total),
		sentAt:     make([]int64, total),
		lastSend:   make([]time.Time, total),
		ackLatency: make([]float64, total),
		inFlight:   make(map[int]struct{}),
		allAcked:   make(chan struct{}),
		quit:       make(chan struct{}),
	}
	sub, err := nc.Subscribe(p.inbox+"*", p.onAck)
	if err != nil {
		return nil, err
	}
	_ = sub.SetPendingLimits(-1, -1)
	p.sub = sub
	p.lastAckAt = time.Now()
	p.ticker = time.NewTicker(e2eLostAfter)
	go func() {
		for {
			select {
			case <-p.ticker.C:
				p.resendSkipped()
			case <-p.quit:
				return
			}
		}
	}()
	return p, nil
}

// onAck takes a PubAck ({"stream":...}) or a refusal ({"error":...}) for the record its subject names.
func (p *e2ePublisher) onAck(m *nats.Msg) {
	now := time.Since(p.base).Nanoseconds()
	seq, err := strconv.Atoi(m.Subject[len(p.inbox):])
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil || seq < 0 || seq >= len(p.data) {
		return
	}
	if _, ok := p.inFlight[seq]; !ok {
		return // a second PubAck of a record published again
	}
	var ack struct {
		Stream string `json:"stream"`
		Error  *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if json.Unmarshal(m.Data, &ack) != nil || ack.Stream == "" {
		if p.failure == nil {
			p.failure = fmt.Errorf("JetStream refused a publish: %q", string(m.Data))
			close(p.allAcked)
		}
		return
	}
	delete(p.inFlight, seq)
	if p.lastSend[seq].After(p.answeredSent) {
		p.answeredSent = p.lastSend[seq]
	}
	p.lastAckAt = time.Now()
	p.data[seq] = nil
	p.ackLatency[seq] = float64(now-p.sentAt[seq]) / 1e6
	p.acked++
	<-p.room
	if p.acked == len(p.data) && p.failure == nil {
		close(p.allAcked)
	}
}

func (p *e2ePublisher) send(seq int) error {
	return p.nc.PublishMsg(&nats.Msg{
		Subject: p.o.subject,
		Reply:   p.inbox + strconv.Itoa(seq),
		Header:  nats.Header{nats.MsgIdHdr: []string{strconv.Itoa(seq)}},
		Data:    p.data[seq],
	})
}

// publish waits for room in the window (or the deadline), then publishes record seq stamped `at`.
func (p *e2ePublisher) publish(seq int, at int64) error {
	select {
	case p.room <- struct{}{}:
	case <-time.After(time.Until(p.o.deadline)):
		return fmt.Errorf("no room in the window of %d before the deadline", p.o.window)
	}
	rec := make([]byte, p.o.size)
	binary.BigEndian.PutUint32(rec, uint32(seq))
	binary.BigEndian.PutUint64(rec[4:], uint64(at))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failure != nil {
		return p.failure
	}
	p.data[seq] = rec
	p.sentAt[seq] = at
	p.lastSend[seq] = time.Now()
	p.inFlight[seq] = struct{}{}
	p.published++
	return p.send(seq)
}

func (p *e2ePublisher) resendSkipped() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	silent := now.Sub(p.lastAckAt) >= e2eSilence
	if silent {
		p.lastAckAt = now // once per silence
	}
	for seq := range p.inFlight {
		if p.answeredSent.Sub(p.lastSend[seq]) >= e2eLostAfter || (silent && now.Sub(p.lastSend[seq]) >= e2eSilence) {
			p.lastSend[seq] = now
			p.republished++
			_ = p.send(seq)
		}
	}
}

// waitAll waits until every record has its PubAck (or a refusal, or the deadline).
func (p *e2ePublisher) waitAll() error {
	select {
	case <-p.allAcked:
	case <-time.After(time.Until(p.o.deadline)):
		p.mu.Lock()
		defer p.mu.Unlock()
		return fmt.Errorf("%d/%d publishes acknowledged before the deadline", p.acked, len(p.data))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failure
}

// republishedCount reads republished under the lock: the resend goroutine runs until stop.
func (p *e2ePublisher) republishedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.republished
}

func (p *e2ePublisher) stop() {
	p.ticker.Stop()
	close(p.quit)
	_ = p.sub.Unsubscribe()
}
