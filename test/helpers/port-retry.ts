// Processes started on ports that were free when picked: another test may bind one of them before the process
// does. A start that fails because an address "is in use" is tried again, on ports picked again, three times at
// most; any other failure is thrown at once.

/** Runs `start` until it succeeds, fails for another reason, or failed three times; `output` says why it failed. */
export async function retryWhilePortTaken<T>(start: () => Promise<T>, output: (err: unknown) => string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= 3 || !/is in use/.test(output(err))) throw err;
    }
  }
}
