// Support for the generated codecs. Tagged fields (KIP-482) are optional, numbered fields at the end of
// every struct in flexible versions; a receiver keeps the ones it does not understand, so re-encoding a
// decoded message is byte-identical.
import { ProtocolError } from './protocol-error.ts';

/** An undecoded tagged field: its tag and its raw bytes (without the tag and size prefixes). */
export interface TaggedField {
  tag: number;
  data: Buffer;
}

/** The all-zero UUID, Kafka's "no topic id" (Uuid.ZERO_UUID), as 32 lowercase hex digits. */
export const ZERO_UUID = '00000000000000000000000000000000';

/**
 * Deep equality of codec values (numbers, bigints, strings, booleans, Buffers, arrays, plain objects, null).
 * The generated encoders use it to decide whether a tagged field still has its default (then it is not sent,
 * as Kafka does) and whether a field a version lacks would lose information. A property that is undefined on
 * either side counts as equal: the other side is always a default, and an absent optional field means its default.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    // An absent optional field means its default; an empty unknown-tag list means none.
    if (k === '_unknownTaggedFields') {
      if ((ao[k] as unknown[] | undefined)?.length || (bo[k] as unknown[] | undefined)?.length) {
        if (!sameValue(ao[k], bo[k])) return false;
      }
      continue;
    }
    if (ao[k] === undefined || bo[k] === undefined) continue;
    if (!sameValue(ao[k], bo[k])) return false;
  }
  return true;
}

/** Kafka's rule for a non-ignorable field that the chosen version cannot carry: refuse rather than drop it. */
export function unrepresentable(field: string, version: number): ProtocolError {
  return new ProtocolError('UNREPRESENTABLE_VALUE', `${field} has a non-default value that version ${version} cannot carry`, {
    apiVersion: version,
  });
}
