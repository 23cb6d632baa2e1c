// What a simulated run did, in order: every message on the bus, every metadata write, every fault, every
// client request and broker state change, stamped with simulated time. Always folded into a hash (two FNV-1a
// streams, 64 bits), so two runs of one seed can be compared cheaply; kept as lines only with --trace.

export class Trace {
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193 ^ 0x5bd1e995;
  readonly lines: string[] | null;
  events = 0;

  constructor(
    private readonly now: () => number,
    keepLines: boolean,
  ) {
    this.lines = keepLines ? [] : null;
  }

  /** Records one event: its kind and a few facts (strings or numbers). */
  add(kind: string, a: string | number = '', b: string | number = '', c: string | number = ''): void {
    this.events++;
    const t = this.now();
    this.mix(t);
    this.mixString(kind);
    this.mixString(String(a));
    this.mixString(String(b));
    this.mixString(String(c));
    if (this.lines) this.lines.push(`${t.toFixed(3).padStart(10)} ${kind} ${a} ${b} ${c}`.trimEnd());
  }

  /** A line for the reader only (broker logs): kept with --trace, not part of the hash. */
  note(text: string): void {
    if (this.lines) this.lines.push(`${this.now().toFixed(3).padStart(10)} log ${text}`);
  }

  hash(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  private mix(n: number): void {
    this.h1 = Math.imul(this.h1 ^ (n * 1000 | 0), 0x01000193);
    this.h2 = Math.imul(this.h2 ^ (Math.floor(n / 4294.967296) | 0), 0x01000193);
  }

  private mixString(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.h1 = Math.imul(this.h1 ^ c, 0x01000193);
      this.h2 = Math.imul(this.h2 ^ (c + 0x9e37), 0x01000193);
    }
    this.h1 = Math.imul(this.h1 ^ 0xff, 0x01000193);
  }
}
