// The writes on the `controller` key that make it a lease (NATS-NOTES.md, "Lease that works"): a takeover
// is a compare-and-set on the revision the taker last saw (or a create when the key is empty), a renewal
// is a compare-and-set on the holder's own last revision, a resignation is a compare-and-set delete. The
// takeover's revision is the controller epoch — the fencing token Kafka kept in ZooKeeper's
// /controller_epoch — and the store reports it in ClusterSnapshot.controller.
//
// Reading the lease goes through the MetadataStore (snapshot().controller and keyRevision('controller')),
// so no broker watches the bucket twice.
import type { Clock } from '../runtime/clock.ts';
import { LeaseLostError } from './errors.ts';
import { KeyExistsError, RevisionMismatchError } from './kv-errors.ts';
import type { MetadataKv } from './kv.ts';
import { encodeJson } from './metadata-codec.ts';
import { CONTROLLER_KEY } from './metadata-keys.ts';

export interface LeaseHolder {
  brokerId: number;
  incarnation: string;
}

export class ControllerLease {
  constructor(
    private readonly kv: MetadataKv,
    /** Only for the wall times written into the value (acquiredAt, renewedAt), for people reading the bucket. */
    private readonly clock: Pick<Clock, 'wall'>,
  ) {}

  /**
   * Takes the lease over from the value at `expectedRevision`, or creates it when `expectedRevision` is
   * null (no holder). Returns the new revision: the controller epoch. LeaseLostError when someone wrote first.
   */
  async acquire(holder: LeaseHolder, expectedRevision: number | null): Promise<number> {
    // No epoch in the value: it is this write's revision, which the store fills in (decodeController).
    const value = encodeJson({ brokerId: holder.brokerId, incarnation: holder.incarnation, acquiredAt: this.clock.wall() });
    try {
      if (expectedRevision === null) return await this.kv.create(CONTROLLER_KEY, value);
      return await this.kv.update(CONTROLLER_KEY, value, expectedRevision);
    } catch (err) {
      if (err instanceof KeyExistsError || err instanceof RevisionMismatchError) throw new LeaseLostError(expectedRevision, err);
      throw err;
    }
  }

  /** Rewrites the holder's lease at its last revision; returns the new revision. LeaseLostError when taken. */
  async renew(holder: LeaseHolder, epoch: number, revision: number): Promise<number> {
    const value = encodeJson({ brokerId: holder.brokerId, incarnation: holder.incarnation, epoch, renewedAt: this.clock.wall() });
    try {
      return await this.kv.update(CONTROLLER_KEY, value, revision);
    } catch (err) {
      if (err instanceof RevisionMismatchError) throw new LeaseLostError(revision, err);
      throw err;
    }
  }

  /** Deletes the lease if it is still at `revision`, so a standby takes over at once; a lost lease is left alone. */
  async resign(revision: number): Promise<void> {
    try {
      await this.kv.delete(CONTROLLER_KEY, revision);
    } catch (err) {
      if (!(err instanceof RevisionMismatchError)) throw err;
    }
  }
}
