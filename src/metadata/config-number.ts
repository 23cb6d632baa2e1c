// The number types of Kafka's ConfigDef (INT, SHORT, LONG, DOUBLE) and its Range validator, with Kafka's messages
// ("Not a number of type LONG", "Value must be at least 0"), for every broker config Kastor checks a number of:
// the stored-only ones (inert-broker-config.ts) and the ones taken up at runtime (reconfigurable-config.ts). Pure.

export type ConfigNumberType = 'INT' | 'SHORT' | 'LONG' | 'DOUBLE';

const LIMITS: Record<Exclude<ConfigNumberType, 'DOUBLE'>, bigint> = { SHORT: 2n ** 15n - 1n, INT: 2n ** 31n - 1n, LONG: 2n ** 63n - 1n };

/**
 * Parses `value` as Kafka parses a config of `type` (surrounding blanks allowed) and checks it against the
 * inclusive `range`: the normalized value and the number, or Kafka's reason it is refused.
 */
export function parseConfigNumber(type: ConfigNumberType, value: string, range?: readonly [number, number]): { value: string; n: number } | { why: string } {
  const t = value.trim();
  let n: number;
  let normalized: string;
  if (type === 'DOUBLE') {
    n = Number(t);
    if (t === '' || Number.isNaN(n)) return { why: 'Not a number of type DOUBLE' };
    normalized = String(n);
  } else {
    const max = LIMITS[type];
    if (!/^[-+]?\d+$/.test(t) || BigInt(t) > max || BigInt(t) < -max - 1n) return { why: `Not a number of type ${type}` };
    n = Number(t);
    normalized = BigInt(t).toString();
  }
  if (range) {
    if (n < range[0]) return { why: `Value must be at least ${range[0]}` };
    if (n > range[1]) return { why: `Value must be no more than ${range[1]}` };
  }
  return { value: normalized, n };
}
