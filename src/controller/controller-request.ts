// A broker's request to the active controller over the runtime transport (JSON, core NATS request/reply),
// asked again while nobody answers: the lease may be changing hands, and a holder that just lost it answers
// NOT_CONTROLLER. Bounded: resolves with the answer, or null once the deadline passed without one.
import type { Clock } from '../runtime/clock.ts';
import type { Transport } from '../runtime/transport.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';

export interface ControllerRequestOptions {
  transport: Pick<Transport, 'request'>;
  subject: string;
  request: object;
  /** The whole wait, retries included. */
  timeoutMs: number;
  clock: Clock;
  /** Answers other than NOT_CONTROLLER that are asked again rather than returned (e.g. not registered yet). */
  retryOn?: readonly number[];
  /** Gives up (null) before the next try once this says so: the broker is stopping. */
  abandoned?: () => boolean;
}

const RETRY_PAUSE_MS = 100;
const PER_TRY_MS = 5_000;

export async function askController<R extends { errorCode: number }>(opts: ControllerRequestOptions): Promise<R | null> {
  const deadline = opts.clock.monotonic() + opts.timeoutMs;
  const payload = new TextEncoder().encode(JSON.stringify(opts.request));
  for (;;) {
    const left = deadline - opts.clock.monotonic();
    if (left <= 0 || opts.abandoned?.()) return null;
    try {
      const reply = await opts.transport.request(opts.subject, payload, Math.max(1, Math.min(left, PER_TRY_MS)));
      const res = JSON.parse(reply.toString()) as R;
      if (res.errorCode !== ErrorCode.NOT_CONTROLLER && !opts.retryOn?.includes(res.errorCode)) return res;
    } catch {
      // no responders or a timeout: fall through to the pause below and ask again
    }
    await new Promise<void>((resolve) => opts.clock.setTimeout(resolve, Math.min(RETRY_PAUSE_MS, Math.max(0, deadline - opts.clock.monotonic()))));
  }
}
