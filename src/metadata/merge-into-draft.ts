// Writes a freshly decoded value into an immer draft leaf by leaf, so that whatever did not change keeps
// its identity in the next snapshot. A topic is stored and watched as one JSON value: without this, a
// leader change in partition 3 would hand every subscriber new objects for all the other partitions too.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Makes `draft` deep-equal to `value`, touching only what differs. Both must be plain JSON data. */
export function mergeIntoDraft(draft: Record<string, unknown> | unknown[], value: Record<string, unknown> | unknown[]): void {
  if (Array.isArray(draft) && Array.isArray(value)) {
    if (draft.length > value.length) draft.length = value.length;
    value.forEach((v, i) => mergeSlot(draft as unknown as Record<number, unknown>, i, v, i < draft.length));
    return;
  }
  const d = draft as Record<string, unknown>;
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!Object.hasOwn(v, k)) delete d[k];
  for (const k of Object.keys(v)) mergeSlot(d, k, v[k], Object.hasOwn(d, k));
}

function mergeSlot(container: Record<string | number, unknown>, k: string | number, next: unknown, present: boolean): void {
  const cur = present ? container[k] : undefined;
  if (present && Array.isArray(cur) && Array.isArray(next)) return mergeIntoDraft(cur, next);
  if (present && isObject(cur) && isObject(next)) return mergeIntoDraft(cur, next);
  if (!present || cur !== next) container[k] = next as Json;
}
