// Where generated identifiers and randomness come from: ULIDs (broker incarnations, group member ids, topic
// and cluster ids, DESIGN.md) and the random choices of placement. Crypto-backed in a broker
// (node/node-ids.ts), seeded in simulation (memory/seeded-ids.ts) so a run can be replayed.

export interface Ids {
  /** A new ULID (26 characters, Crockford base32), its time part from the runtime's wall clock. */
  ulid(): string;
  /** A number in [0, 1), as Math.random(). */
  random(): number;
}
