// The records Kastor keeps in `__transaction_state`: one compacted key per transactional id whose latest value is
// the coordinator's state for it (Kafka's TransactionLogKey/Value, in Kastor's own JSON format like the records of
// __consumer_offsets, offsets-record-format.ts). A new coordinator rebuilds every transaction from the latest
// record per key; a null value is a tombstone (an expired transactional id).
//
//   key   ["txn", transactionalId]
//   value {"v":1,"producerId":"7","producerEpoch":2,"timeoutMs":60000,"state":"Ongoing",
//          "partitions":[["orders",[0,3]]],"startTimestamp":1700000000000,"updateTimestamp":1700000000500}
//
// Producer ids are decimal strings (int64 on the wire). `v` is the value schema version: a reader skips
// versions it does not know rather than misreading them.
import { TXN_STATES, type TxnMetadata, type TxnState } from './txn-metadata.ts';

const VALUE_VERSION = 1;

export function txnKey(transactionalId: string): Buffer {
  return Buffer.from(JSON.stringify(['txn', transactionalId]));
}

/** The transactional id of a key, or null for a key this version does not know. */
export function decodeTxnKey(key: Buffer): string | null {
  const k = JSON.parse(key.toString('utf8')) as unknown[];
  return k[0] === 'txn' && k.length === 2 && typeof k[1] === 'string' ? k[1] : null;
}

export function encodeTxn(m: TxnMetadata): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: VALUE_VERSION,
      producerId: String(m.producerId),
      producerEpoch: m.producerEpoch,
      timeoutMs: m.timeoutMs,
      state: m.state,
      partitions: Object.entries(m.partitions),
      startTimestamp: m.startTimestamp,
      updateTimestamp: m.updateTimestamp,
    }),
  );
}

/** Null for a value of an unknown version or state. */
export function decodeTxn(transactionalId: string, value: Buffer): TxnMetadata | null {
  const v = JSON.parse(value.toString('utf8'));
  if (v.v !== VALUE_VERSION || !TXN_STATES.includes(v.state)) return null;
  const partitions: Record<string, number[]> = {};
  for (const [topic, ps] of v.partitions as Array<[string, number[]]>) partitions[topic] = ps.map(Number);
  return {
    transactionalId,
    producerId: Number(v.producerId),
    producerEpoch: Number(v.producerEpoch),
    timeoutMs: Number(v.timeoutMs),
    state: v.state as TxnState,
    partitions,
    startTimestamp: Number(v.startTimestamp),
    updateTimestamp: Number(v.updateTimestamp),
  };
}
