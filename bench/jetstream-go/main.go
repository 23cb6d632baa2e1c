// The JetStream peer measured from Go, the way JetStream's users benchmark it (`nats bench`): nats.go's own
// async publish with a window of outstanding acks, its ordered consumer, and a synchronous one-at-a-time publish
// for the latency probe. bench/jetstream-go-peer.ts writes this file to a build directory, builds it in GOPATH
// mode against Debian's golang-github-nats-io-go-nats-dev (nats.go 1.22, the pre-`jetstream`-package API) and
// runs it as a child process; it prints one JSON line on stdout (or {"error":...} and exit 1).
//
//	jetstream-go -mode publish|consume|sync|e2e -urls u1[,u2,u3] -stream S -subject X -replicas 1|3
//	             -records N -size B -window W -warmup N -rate R -seconds S -warmup-seconds U -timeout 300s
//
// publish (re)creates the file stream S on X with R replicas, then publishes N payloads of B bytes with at most
// W unacknowledged; consume reads S back with an ordered consumer and checks it got every record in order; sync
// (re)creates S, publishes -warmup unmeasured records, then N records each waiting for its PubAck. Like the Node
// peer (bench/jetstream-peer.ts) the measuring connection goes to the stream's leader, MB = 10^6 payload bytes,
// and latencies are publish→PubAck in ms (nearest-rank percentiles). e2e is bench/e2e.ts's produce-to-consume
// run: (re)creates S, starts an ordered consumer, then publishes R records/s paced every millisecond for U+S
// seconds (the first U seconds' records are sent and consumed but not measured), each record carrying its
// sequence number and its send time on this process's monotonic clock; the latency is from the send to the
// consumer's delivery, as the Node peer's JetStreamLink measures it.
package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

type options struct {
	mode     string
	urls     []string
	stream   string
	subject  string
	replicas int
	records  int
	size     int
	window   int
	warmup   int
	rate     float64
	seconds  float64
	warmupS  float64
	deadline time.Time
}

func main() {
	var o options
	var urls string
	var timeout time.Duration
	flag.StringVar(&o.mode, "mode", "publish", "publish, consume or sync")
	flag.StringVar(&urls, "urls", nats.DefaultURL, "comma-separated NATS URLs (every member of a cluster)")
	flag.StringVar(&o.stream, "stream", "BENCH_GO", "stream name")
	flag.StringVar(&o.subject, "subject", "bench.go", "the stream's subject")
	flag.IntVar(&o.replicas, "replicas", 1, "stream replicas (1 or 3)")
	flag.IntVar(&o.records, "records", 100000, "records to publish or consume")
	flag.IntVar(&o.size, "size", 100, "payload bytes per record")
	flag.IntVar(&o.window, "window", 1000, "most unacknowledged async publishes")
	flag.IntVar(&o.warmup, "warmup", 0, "unmeasured publishes before a sync probe")
	flag.Float64Var(&o.rate, "rate", 1000, "records/s offered (e2e)")
	flag.Float64Var(&o.seconds, "seconds", 5, "measured seconds (e2e)")
	flag.Float64Var(&o.warmupS, "warmup-seconds", 1, "unmeasured seconds sent first (e2e)")
	flag.DurationVar(&timeout, "timeout", 300*time.Second, "whole-run deadline")
	flag.Parse()
	o.urls = strings.Split(urls, ",")
	o.deadline = time.Now().Add(timeout)
	if o.records < 1 || o.size < 1 || o.window < 1 || o.warmup < 0 || (o.replicas != 1 && o.replicas != 3) {
		fail(errors.New("records, size and window must be positive, warmup non-negative, replicas 1 or 3"))
	}
	if o.mode == "e2e" && (o.rate <= 0 || o.seconds <= 0 || o.warmupS < 0 || o.size < e2eHeader) {
		fail(fmt.Errorf("e2e needs a positive -rate and -seconds, a non-negative -warmup-seconds and -size of at least %d", e2eHeader))
	}
	// A stuck server fails the run rather than hanging the benchmark that started it.
	time.AfterFunc(timeout, func() { fail(fmt.Errorf("deadline of %s passed", timeout)) })

	var result map[string]interface{}
	var err error
	switch o.mode {
	case "publish":
		result, err = publishAsync(o)
	case "consume":
		result, err = consumeOrdered(o)
	case "sync":
		result, err = publishSync(o)
	case "e2e":
		result, err = endToEnd(o)
	default:
		err = fmt.Errorf("unknown -mode %q (publish, consume, sync or e2e)", o.mode)
	}
	if err != nil {
		fail(err)
	}
	result["mode"] = o.mode
	result["replicas"] = o.replicas
	if _, ok := result["records"]; !ok {
		result["records"] = o.records
	}
	result["nats_go"] = nats.Version
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}

func fail(err error) {
	out, _ := json.Marshal(map[string]string{"error": err.Error()})
	fmt.Println(string(out))
	os.Exit(1)
}

// recreateStream deletes and adds the stream, retrying while a new cluster is still electing or placing it.
func recreateStream(o options) error {
	nc, err := nats.Connect(strings.Join(o.urls, ","))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	for {
		_ = js.DeleteStream(o.stream)
		_, err = js.AddStream(&nats.StreamConfig{
			Name:      o.stream,
			Subjects:  []string{o.subject},
			Storage:   nats.FileStorage,
			Replicas:  o.replicas,
			Retention: nats.LimitsPolicy,
			Discard:   nats.DiscardOld,
		})
		if err == nil {
			return nil
		}
		if time.Now().After(o.deadline) {
			return fmt.Errorf("could not create stream %s (R%d): %w", o.stream, o.replicas, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// connectToLeader connects to the server leading the stream, as a Kafka client talks to the partition leader,
// so an R3 publish is not routed through a second server first.
func connectToLeader(o options) (*nats.Conn, *nats.StreamInfo, error) {
	opts := []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if len(o.urls) == 1 {
		nc, err := nats.Connect(o.urls[0], opts...)
		if err != nil {
			return nil, nil, err
		}
		info, err := streamInfo(nc, o.stream)
		return nc, info, err
	}
	probe, err := nats.Connect(strings.Join(o.urls, ","))
	if err != nil {
		return nil, nil, err
	}
	info, err := streamInfo(probe, o.stream)
	probe.Close()
	if err != nil {
		return nil, nil, err
	}
	leader := ""
	if info.Cluster != nil {
		leader = info.Cluster.Leader
	}
	for _, u := range o.urls {
		nc, err := nats.Connect(u, opts...)
		if err != nil {
			return nil, nil, err
		}
		if leader == "" || nc.ConnectedServerName() == leader {
			return nc, info, nil
		}
		nc.Close()
	}
	return nil, nil, fmt.Errorf("stream leader %s is none of %s", leader, strings.Join(o.urls, ", "))
}

func streamInfo(nc *nats.Conn, stream string) (*nats.StreamInfo, error) {
	js, err := nc.JetStream()
	if err != nil {
		return nil, err
	}
	return js.StreamInfo(stream)
}

func payload(size int) []byte {
	b := make([]byte, size)
	_, _ = rand.Read(b)
	return b
}

// publishAsync is nats.go's PublishAsync with PublishAsyncMaxPending: the client itself stalls a publish while the
// window is full. A collector goroutine takes the futures in publish order and stamps each ack's arrival.
func publishAsync(o options) (map[string]interface{}, error) {
	// nats.go counts the publish being made among the pending ones and waits while pending >= max, so max W+1
	// allows exactly W unacknowledged publishes, the Node peer's window.
	nc, js, err := openPublisher(o, nats.PublishAsyncMaxPending(o.window+1))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	data := payload(o.size)
	type sent struct {
		at  time.Time
		ack nats.PubAckFuture
	}
	futures := make(chan sent, o.window+1)
	latency := make([]float64, 0, o.records)
	collected := make(chan error, 1)
	go func() {
		for s := range futures {
			select {
			case <-s.ack.Ok():
				latency = append(latency, float64(time.Since(s.at).Nanoseconds())/1e6)
			case err := <-s.ack.Err():
				collected <- fmt.Errorf("JetStream refused a publish: %w", err)
				return
			}
		}
		collected <- nil
	}()

	t0 := time.Now()
	for i := 0; i < o.records; i++ {
		at := time.Now()
		ack, err := js.PublishAsync(o.subject, data)
		// A publish stalled longer than nats.go's 200 ms stall wait is not sent (its future is cleared): retry it.
		for err != nil && strings.Contains(err.Error(), "stalled") && time.Now().Before(o.deadline) {
			ack, err = js.PublishAsync(o.subject, data)
		}
		if err != nil {
			return nil, err
		}
		futures <- sent{at, ack}
	}
	close(futures)
	if err := <-collected; err != nil {
		return nil, err
	}
	result := publishResult(o, nc, time.Since(t0).Seconds(), latency)
	result["window"] = o.window
	return result, nil
}

// publishResult is a publish run's figures: throughput of payload bytes and publish→PubAck percentiles.
func publishResult(o options, nc *nats.Conn, seconds float64, latency []float64) map[string]interface{} {
	sort.Float64s(latency)
	return map[string]interface{}{
		"records_per_s": int64(float64(o.records)/seconds + 0.5),
		"mb_per_s":      float64(o.records*o.size) / seconds / 1e6,
		"p50_ms":        percentile(latency, 0.5),
		"p99_ms":        percentile(latency, 0.99),
		"seconds":       seconds,
		"server":        nc.ConnectedServerName(),
	}
}

// openPublisher (re)creates the stream and connects to its leader.
func openPublisher(o options, jsOpts ...nats.JSOpt) (*nats.Conn, nats.JetStreamContext, error) {
	if err := recreateStream(o); err != nil {
		return nil, nil, err
	}
	nc, _, err := connectToLeader(o)
	if err != nil {
		return nil, nil, err
	}
	js, err := nc.JetStream(jsOpts...)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// publishSync is the latency probe: one js.Publish at a time, each returning with its PubAck.
func publishSync(o options) (map[string]interface{}, error) {
	nc, js, err := openPublisher(o)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	data := payload(o.size)
	for i := 0; i < o.warmup; i++ {
		if _, err := js.Publish(o.subject, data); err != nil {
			return nil, err
		}
	}
	latency := make([]float64, 0, o.records)
	t0 := time.Now()
	for i := 0; i < o.records; i++ {
		at := time.Now()
		if _, err := js.Publish(o.subject, data); err != nil {
			return nil, err
		}
		latency = append(latency, float64(time.Since(at).Nanoseconds())/1e6)
	}
	result := publishResult(o, nc, time.Since(t0).Seconds(), latency)
	result["warmup"] = o.warmup
	return result, nil
}

// consumeOrdered reads the whole stream with nats.go's ordered consumer (an ephemeral, flow-controlled push
// consumer without acks that restarts itself on a gap, so what arrives is in order). The count, the first and the
// last stream sequence are checked against the stream's state, so a lost or extra record fails the run.
func consumeOrdered(o options) (map[string]interface{}, error) {
	nc, info, err := connectToLeader(o)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	if info.State.Msgs != uint64(o.records) {
		return nil, fmt.Errorf("stream %s holds %d records, expected %d", o.stream, info.State.Msgs, o.records)
	}
	js, err := nc.JetStream()
	if err != nil {
		return nil, err
	}
	count, bytes := 0, 0
	var failure error
	done := make(chan struct{})
	checkSeq := func(m *nats.Msg, want uint64) {
		meta, err := m.Metadata()
		if err == nil && meta.Sequence.Stream != want {
			err = fmt.Errorf("record %d has stream sequence %d, expected %d", count, meta.Sequence.Stream, want)
		}
		if err != nil && failure == nil {
			failure = err
		}
	}
	t0 := time.Now()
	sub, err := subscribeOrdered(js, o, func(m *nats.Msg) {
		if count >= o.records {
			return
		}
		count++
		bytes += len(m.Data)
		if count == 1 {
			checkSeq(m, info.State.FirstSeq)
		}
		if count == o.records {
			checkSeq(m, info.State.LastSeq)
			close(done)
		}
	})
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	select {
	case <-done:
	case <-time.After(time.Until(o.deadline)):
		return nil, fmt.Errorf("%d/%d records before the deadline", count, o.records)
	}
	seconds := time.Since(t0).Seconds()
	if failure != nil {
		return nil, failure
	}
	return map[string]interface{}{
		"records_per_s": int64(float64(o.records)/seconds + 0.5),
		"mb_per_s":      float64(bytes) / seconds / 1e6,
		"seconds":       seconds,
		"server":        nc.ConnectedServerName(),
	}, nil
}

// subscribeOrdered reads the whole stream S with nats.go's ordered consumer, without the default pending limits
// (512k messages, 64 MB), which would drop records of a fast stream as a slow consumer.
func subscribeOrdered(js nats.JetStreamContext, o options, cb nats.MsgHandler) (*nats.Subscription, error) {
	sub, err := js.Subscribe(o.subject, cb, nats.OrderedConsumer(), nats.DeliverAll(), nats.BindStream(o.stream))
	if err != nil {
		return nil, err
	}
	_ = sub.SetPendingLimits(-1, -1)
	return sub, nil
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
