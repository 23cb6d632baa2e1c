// Controlled shutdown (Kafka's ControlledShutdown, KIP-143's intent): before a broker closes its logs it
// asks the active controller to move every leadership it holds to another ISR member and to take it out
// of the ISRs that keep other members, so clients fail over to a leader that is already there instead of
// waiting for a session timeout. JSON over the runtime transport's request/reply (core NATS) on
// subjectsFor(bucket).controlledShutdown.
//
// The broker side waits a bounded time and proceeds anyway: a shutdown never hangs on a missing controller.
import type { Clock } from '../runtime/clock.ts';
import type { Transport } from '../runtime/transport.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';

export interface ControlledShutdownRequest {
  brokerId: number;
  incarnation: string;
}

export interface ControlledShutdownResponse {
  errorCode: number;
  /** Partitions this broker still leads (no other ISR member could take over); they go offline with it. */
  remainingLeaderships: number;
}

export function parseControlledShutdownRequest(v: unknown): ControlledShutdownRequest | null {
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  if (!Number.isSafeInteger(r.brokerId) || (r.brokerId as number) < 0 || typeof r.incarnation !== 'string') return null;
  return { brokerId: r.brokerId as number, incarnation: r.incarnation };
}

export interface RequestControlledShutdownOptions {
  transport: Pick<Transport, 'request'>;
  subject: string;
  request: ControlledShutdownRequest;
  /** The whole wait, retries included (default 10 s). */
  timeoutMs?: number;
  clock: Clock;
}

/**
 * Asks the controller and waits for its answer; retries while nobody answers (the lease may be changing
 * hands, or answers NOT_CONTROLLER). Resolves with the response, or null when the deadline passed without one.
 */
export async function requestControlledShutdown(opts: RequestControlledShutdownOptions): Promise<ControlledShutdownResponse | null> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = opts.clock.monotonic() + timeoutMs;
  const payload = new TextEncoder().encode(JSON.stringify(opts.request));
  for (;;) {
    const left = deadline - opts.clock.monotonic();
    if (left <= 0) return null;
    try {
      const reply = await opts.transport.request(opts.subject, payload, Math.max(1, Math.min(left, 5_000)));
      const res = JSON.parse(reply.toString()) as ControlledShutdownResponse;
      // NOT_CONTROLLER comes from a holder that just lost the lease: ask again. Anything else is final.
      if (res.errorCode !== ErrorCode.NOT_CONTROLLER) return res;
    } catch {
      // no responders or a timeout: fall through to the pause below and ask again
    }
    await new Promise<void>((resolve) => opts.clock.setTimeout(resolve, Math.min(100, Math.max(0, deadline - opts.clock.monotonic()))));
  }
}
