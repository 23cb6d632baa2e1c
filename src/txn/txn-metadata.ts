// One transactional id's state at its coordinator and the rules that move it (Kafka's TransactionMetadata and
// the checks of TransactionCoordinator). Pure: every decision takes the current metadata and a request and
// returns either the Kafka error to answer or the next metadata to persist; the shard (txn-shard.ts) writes it
// to __transaction_state before anyone is answered, and only then hands it to the id's machine
// (machines/transaction.ts), which holds Kafka's table of valid previous states and the timers.
//
//   Empty ──AddPartitions──▶ Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers──▶ CompleteCommit
//     ▲                        │    └──EndTxn(abort) / timeout / fence──▶ PrepareAbort ──markers──▶ CompleteAbort
//     └──InitProducerId (epoch + 1) from Empty, CompleteCommit or CompleteAbort
//
// Kafka's PrepareEpochFence (a fenced producer's epoch bump before its abort) is written here as PrepareAbort
// at the bumped epoch in one record: the same fence, one write fewer. Dead (an expired transactional id) is
// (an id idle past transactional.id.expiration.ms) is written as a tombstone.
import { ErrorCode } from '../protocol/generated/errors.ts';

export const TXN_STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'PrepareEpochFence', 'Dead'] as const;
export type TxnState = (typeof TXN_STATES)[number];

/** The largest producer epoch: one short of Int16.MAX, which Kafka keeps free for the fence of an exhausted id. */
export const MAX_PRODUCER_EPOCH = 0x7ffe;

export interface TxnMetadata {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** topic → partitions in the transaction, ascending. */
  partitions: Record<string, number[]>;
  /** When the transaction went Ongoing (its timeout counts from here); -1 when none is open. */
  startTimestamp: number;
  updateTimestamp: number;
}

export type Decision = { errorCode: number; next?: undefined } | { errorCode?: undefined; next: TxnMetadata | null };

const error = (errorCode: number): Decision => ({ errorCode });
const unchanged: Decision = { next: null };

export const isPreparing = (s: TxnState) => s === 'PrepareCommit' || s === 'PrepareAbort' || s === 'PrepareEpochFence';

/** The producer named in a request against the coordinator's: a wrong id is INVALID_PRODUCER_ID_MAPPING, an old epoch PRODUCER_FENCED. */
export function checkProducer(m: TxnMetadata | undefined, producerId: number, producerEpoch: number): number {
  if (!m || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
  if (m.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
  return ErrorCode.NONE;
}

/**
 * InitProducerId for a transactional id whose metadata exists: a fresh epoch from a finished state; an open
 * transaction is fenced (its epoch bumped and it is aborted: the caller answers CONCURRENT_TRANSACTIONS and the
 * producer retries once the abort completed); one being completed asks the producer to retry. An exhausted
 * epoch starts over at 0 with `newProducerId` (the caller allocates one when `exhaustedEpoch(m)`).
 */
export function decideInit(m: TxnMetadata, timeoutMs: number, now: number, newProducerId = -1): Decision {
  if (isPreparing(m.state)) return error(ErrorCode.CONCURRENT_TRANSACTIONS);
  if (m.state === 'Ongoing') return { next: { ...m, producerEpoch: bumped(m.producerEpoch), state: 'PrepareAbort', updateTimestamp: now } };
  const exhausted = exhaustedEpoch(m);
  if (exhausted && newProducerId < 0) throw new Error(`transactional id ${m.transactionalId}: its epoch is exhausted and no new producer id was given`);
  return {
    next: {
      ...m,
      producerId: exhausted ? newProducerId : m.producerId,
      producerEpoch: exhausted ? 0 : m.producerEpoch + 1,
      timeoutMs,
      state: 'Empty',
      partitions: {},
      startTimestamp: -1,
      updateTimestamp: now,
    },
  };
}

/** The producer id has used its last epoch: InitProducerId gives the transactional id a new producer id. */
export function exhaustedEpoch(m: TxnMetadata): boolean {
  return m.producerEpoch >= MAX_PRODUCER_EPOCH;
}

/** The fence's epoch: the next one, or the same when the id is exhausted (its next InitProducerId gets a new id). */
function bumped(epoch: number): number {
  return Math.min(epoch + 1, MAX_PRODUCER_EPOCH + 1);
}

/** AddPartitionsToTxn and AddOffsetsToTxn: the partitions join the transaction, which opens if it was not. */
export function decideAdd(m: TxnMetadata | undefined, producerId: number, producerEpoch: number, add: Record<string, number[]>, now: number): Decision {
  const producer = checkProducer(m, producerId, producerEpoch);
  if (producer !== ErrorCode.NONE) return error(producer);
  if (isPreparing(m!.state)) return error(ErrorCode.CONCURRENT_TRANSACTIONS);
  if (m!.state === 'Ongoing' && containsAll(m!.partitions, add)) return unchanged;
  const partitions: Record<string, number[]> = m!.state === 'Ongoing' ? { ...m!.partitions } : {};
  for (const [topic, ps] of Object.entries(add)) partitions[topic] = [...new Set([...(partitions[topic] ?? []), ...ps])].sort((a, b) => a - b);
  return { next: { ...m!, state: 'Ongoing', partitions, startTimestamp: m!.state === 'Ongoing' ? m!.startTimestamp : now, updateTimestamp: now } };
}

/** EndTxn: PrepareCommit or PrepareAbort; a retry of a finished end is answered as it was. */
export function decideEnd(m: TxnMetadata | undefined, producerId: number, producerEpoch: number, commit: boolean, now: number): Decision {
  const producer = checkProducer(m, producerId, producerEpoch);
  if (producer !== ErrorCode.NONE) return error(producer);
  switch (m!.state) {
    case 'Ongoing':
      return { next: { ...m!, state: commit ? 'PrepareCommit' : 'PrepareAbort', updateTimestamp: now } };
    case 'PrepareCommit':
      return error(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
    case 'PrepareAbort':
      return error(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS);
    case 'CompleteCommit':
      return commit ? unchanged : error(ErrorCode.INVALID_TXN_STATE);
    case 'CompleteAbort':
      return commit ? error(ErrorCode.INVALID_TXN_STATE) : unchanged;
    default:
      return error(ErrorCode.INVALID_TXN_STATE);
  }
}

/** Markers written on every partition: the transaction is complete and holds no partitions any more. */
export function completed(m: TxnMetadata, now: number): TxnMetadata {
  return { ...m, state: m.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort', partitions: {}, startTimestamp: -1, updateTimestamp: now };
}

/**
 * The coordinator's abort of an open transaction whose timeout passed (the machine's timer decides when): the
 * producer is fenced (epoch + 1) as Kafka does. Null when the transaction is not open any more.
 */
export function timedOut(m: TxnMetadata, now: number): TxnMetadata | null {
  if (m.state !== 'Ongoing') return null;
  return { ...m, producerEpoch: bumped(m.producerEpoch), state: 'PrepareAbort', updateTimestamp: now };
}

/** Ids idle in these states may expire (Kafka's isExpirationAllowed): nothing is open or being completed. */
export function mayExpire(m: TxnMetadata): boolean {
  return m.state === 'Empty' || m.state === 'CompleteCommit' || m.state === 'CompleteAbort';
}

/** KIP-890's verification: is the partition in the producer's open transaction? */
export function verifyPartition(m: TxnMetadata | undefined, producerId: number, producerEpoch: number, topic: string, partition: number): number {
  const producer = checkProducer(m, producerId, producerEpoch);
  if (producer !== ErrorCode.NONE) return producer;
  if (m!.state !== 'Ongoing' || !m!.partitions[topic]?.includes(partition)) return ErrorCode.INVALID_TXN_STATE;
  return ErrorCode.NONE;
}

function containsAll(have: Record<string, number[]>, add: Record<string, number[]>): boolean {
  return Object.entries(add).every(([topic, ps]) => ps.every((p) => have[topic]?.includes(p)));
}
