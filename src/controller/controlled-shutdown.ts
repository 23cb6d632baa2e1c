// Controlled shutdown (Kafka's ControlledShutdown, KIP-143's intent): before a broker closes its logs it
// asks the active controller to move every leadership it holds to another ISR member and to take it out
// of the ISRs that keep other members, so clients fail over to a leader that is already there instead of
// waiting for a session timeout. JSON over the runtime transport's request/reply (core NATS) on
// subjectsFor(bucket).controlledShutdown.
//
// The broker side waits a bounded time and proceeds anyway: a shutdown never hangs on a missing controller.
import type { Clock } from '../runtime/clock.ts';
import type { Transport } from '../runtime/transport.ts';
import { askController } from './controller-request.ts';

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

/** Asks the controller and waits for its answer (askController); null when the deadline passed without one. */
export async function requestControlledShutdown(opts: RequestControlledShutdownOptions): Promise<ControlledShutdownResponse | null> {
  return askController<ControlledShutdownResponse>({ ...opts, timeoutMs: opts.timeoutMs ?? 10_000 });
}
