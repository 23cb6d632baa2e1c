// Hands out producer ids on one broker (Kafka's ProducerIdManager): ids come from blocks of BLOCK_SIZE
// reserved in the cluster metadata by compare-and-set, so ids are unique across the cluster without a
// round trip per InitProducerId. The next block is reserved when the current one runs out; concurrent
// callers share one reservation. Ids of a block left unused when the broker stops are simply skipped.
export const PRODUCER_ID_BLOCK_SIZE = 1000;

export type ReserveBlock = () => Promise<{ start: number; end: number }>;

export class ProducerIdAllocator {
  private next = 0;
  private end = 0;
  private reserving: Promise<void> | null = null;

  constructor(private readonly reserveBlock: ReserveBlock) {}

  async allocate(): Promise<number> {
    for (;;) {
      if (this.next < this.end) return this.next++;
      this.reserving ??= this.reserveBlock()
        .then((b) => {
          this.next = b.start;
          this.end = b.end;
        })
        .finally(() => (this.reserving = null));
      await this.reserving;
    }
  }
}
