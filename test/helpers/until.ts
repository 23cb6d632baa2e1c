// Waiting on a condition with a deadline, never on a sleep: polls `pred` every `pollMs` until it holds, and
// fails with what was awaited once `timeoutMs` has passed. Resolves with the milliseconds it took.
export async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs: number, pollMs = 50): Promise<number> {
  const start = Date.now();
  while (!(await pred())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return Date.now() - start;
}
