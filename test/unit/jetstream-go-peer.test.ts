// The Go JetStream peer's TypeScript side (bench/jetstream-go-peer.ts): the arguments given to the Go program, the
// parsing of the JSON line it prints, and the "Go is not installed" path that lets the benchmarks run the Node
// peer alone. No Go toolchain is needed: the program itself is built and run only by the benchmarks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GO_INSTALL_HINT, goPeerArgs, parseGoPeerOutput, prepareGoPeer } from '../../bench/jetstream-go-peer.ts';

const publishLine =
  '{"mb_per_s":13.353312568500533,"mode":"publish","nats_go":"1.22.1","p50_ms":5.396062,"p99_ms":18.585181,"records":200000,' +
  '"records_per_s":133533.4,"replicas":1,"seconds":1.497755699,"server":"NDLN","window":1000}';

test('publish output: figures rounded as the Node peer rounds them', () => {
  assert.equal(parseGoPeerOutput('publish', `${publishLine}\n`), {
    records_per_s: 133533,
    mb_per_s: 13.35,
    seconds: 1.498,
    p50_ms: 5.396,
    p99_ms: 18.585,
  });
});

test('consume output has no latency; the last JSON line counts, other lines are ignored', () => {
  const out = 'some note\n{"mode":"consume","records_per_s":1,"mb_per_s":0,"seconds":9}\n{"mode":"consume","records_per_s":432687,"mb_per_s":43.2686,"seconds":0.4622}\n';
  assert.equal(parseGoPeerOutput('consume', out), { records_per_s: 432687, mb_per_s: 43.27, seconds: 0.462 });
});

test('e2e output: latency percentiles, rates and republished publishes, rounded as the Node peer rounds them', () => {
  const line =
    '{"achieved_records_per_s":4997.4,"max_ms":5.913731,"mode":"e2e","nats_go":"1.22.1","offered_records_per_s":5000,"p50_ms":0.240397,' +
    '"p999_ms":4.726249,"p99_ms":0.979313,"produce_ack_p50_ms":0.246956,"produce_ack_p99_ms":0.824843,"records":10000,"replicas":3,' +
    '"republished":7,"seconds":3.004589462,"server":"N2","window":65536}';
  assert.equal(parseGoPeerOutput('e2e', line), {
    records: 10000,
    offered_records_per_s: 5000,
    achieved_records_per_s: 4997,
    p50_ms: 0.24,
    p99_ms: 0.979,
    p999_ms: 4.726,
    max_ms: 5.914,
    produce_ack_p50_ms: 0.247,
    produce_ack_p99_ms: 0.825,
    republished: 7,
  });
  assert.throws(() => parseGoPeerOutput('e2e', line.replace('"p999_ms":4.726249,', '')), /"p999_ms" is undefined/);
  assert.throws(() => parseGoPeerOutput('e2e', '{"error":"sent 10, consumed 9 (duplicates 0, strays 0), stored 10"}'), /e2e: sent 10, consumed 9/);
});

test('e2e arguments carry the offered rate and the measured and warm-up seconds; other modes do not', () => {
  const o = { url: 'nats://127.0.0.1:1', stream: 'S', subject: 's', replicas: 3 as const, records: 1, recordBytes: 100, window: 65536, rate: 1234, seconds: 5, warmupSeconds: 1 };
  const args = goPeerArgs('e2e', o);
  const flag = (name: string) => args[args.indexOf(`-${name}`) + 1];
  assert.is(flag('mode'), 'e2e');
  assert.is(flag('rate'), '1234');
  assert.is(flag('seconds'), '5');
  assert.is(flag('warmup-seconds'), '1');
  assert.is(flag('window'), '65536');
  assert.not.ok(goPeerArgs('publish', o).includes('-rate'));
});

test('an error line becomes an Error carrying its message', () => {
  assert.throws(() => parseGoPeerOutput('consume', '{"error":"stream T holds 600 records, expected 10"}\n'), /consume: stream T holds 600 records, expected 10/);
});

test('malformed output is refused with what was seen', () => {
  assert.throws(() => parseGoPeerOutput('publish', ''), /no JSON line/);
  assert.throws(() => parseGoPeerOutput('publish', '{"mode":"publish",'), /not JSON/);
  assert.throws(() => parseGoPeerOutput('sync', publishLine), /asked for sync, got mode "publish"/);
  assert.throws(() => parseGoPeerOutput('publish', publishLine.replace('"p99_ms":18.585181', '"p99_ms":"x"')), /"p99_ms" is "x"/);
  assert.throws(() => parseGoPeerOutput('consume', '{"mode":"consume","records_per_s":5,"seconds":1}'), /"mb_per_s" is undefined/);
});

test('arguments: every member URL, the stream, replicas, sizes, window, warm-up and a deadline in seconds', () => {
  const args = goPeerArgs('publish', {
    url: ['nats://127.0.0.1:1', 'nats://127.0.0.1:2'],
    stream: 'S',
    subject: 's.x',
    replicas: 3,
    records: 10,
    recordBytes: 100,
    window: 64,
    timeoutMs: 1500,
  });
  const flag = (name: string) => args[args.indexOf(`-${name}`) + 1];
  assert.is(flag('mode'), 'publish');
  assert.is(flag('urls'), 'nats://127.0.0.1:1,nats://127.0.0.1:2');
  assert.is(flag('stream'), 'S');
  assert.is(flag('subject'), 's.x');
  assert.is(flag('replicas'), '3');
  assert.is(flag('records'), '10');
  assert.is(flag('size'), '100');
  assert.is(flag('window'), '64');
  assert.is(flag('warmup'), '0');
  assert.is(flag('timeout'), '2s');
});

test('without go on PATH the peer is unavailable, saying how to install it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kastor-go-peer-'));
  try {
    const peer = prepareGoPeer({ path: dir, gopath: [dir], cacheDir: join(dir, 'cache') });
    assert.is(peer.available, false);
    if (!peer.available) {
      assert.match(peer.reason, /`go` is not on PATH/);
      assert.ok(peer.reason.includes(GO_INSTALL_HINT));
      assert.not.match(peer.reason, /\n/, 'one line');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with go but without the nats.go sources the peer is unavailable, naming the GOPATH searched', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kastor-go-peer-'));
  try {
    mkdirSync(join(dir, 'bin'));
    // A stand-in `go` that would fail any build: the sources are looked for before anything is run.
    writeFileSync(join(dir, 'bin', 'go'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(dir, 'bin', 'go'), 0o755);
    const gopath = join(dir, 'gopath');
    const peer = prepareGoPeer({ path: join(dir, 'bin'), gopath: [gopath], cacheDir: join(dir, 'cache') });
    assert.is(peer.available, false);
    if (!peer.available) {
      assert.match(peer.reason, /nats\.go sources not found/);
      assert.ok(peer.reason.includes(gopath));
      assert.ok(peer.reason.includes(GO_INSTALL_HINT));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
