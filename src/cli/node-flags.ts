// V8 flags every broker process runs with. `kastor` sets them in its shebang (bin/kastor.js); whatever spawns
// a broker with `node bin/kastor.js` (kastor dev, the test and bench harnesses) passes these. They cannot go
// through NODE_OPTIONS, which refuses them.
//
// --min-semi-space-size=16 (MiB): an idle broker allocates little, so V8 shrinks its young generation to
// 1 MiB and scavenges every second or two. Anything alive across two scavenges is then promoted: a replica
// fetch held for its 5 s long poll, a request's timer. The promoted garbage is collected by major GCs, which
// at 3,000 partitions mark ~150 MB of heap each time (0.3-0.6 s of CPU, several a minute): most of what an
// idle broker spent. A 16 MiB floor lets that garbage die young. It costs at most 32 MiB of RSS.
//
// --initial-old-space-size=128 (MiB): under load a broker's old generation holds 15-20 MB of live objects,
// and V8 sizes the next major GC's trigger from that, so the requests, promises and Buffer objects alive at
// each scavenge and promoted reached it within ~125 ms: eight major GCs a second, a third of a loaded broker's
// CPU in a profile of the cluster bench. Raising the floor of that trigger to 128 MiB lets the promoted garbage
// pile up longer between collections: broker CPU per record fell by 40-50% and `npm run bench -- cluster`
// went from ~400k to 600-700k records/s (64 MiB gave ~500k). The heap only grows that far when something
// allocates that much: idle brokers' RSS is unchanged, loaded ones were 200-270 MiB.
export const BROKER_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=16', '--initial-old-space-size=128'];
