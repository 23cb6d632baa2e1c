// What `kastor dev` lets its dashboard do to the brokers it supervises, so a newcomer can watch a failover
// from the page: kill a broker (SIGKILL, as a crash), pause it (SIGSTOP: alive but silent, as a long GC pause
// or a hung host), resume it (SIGCONT) or restart it (a clean stop and start). Only `kastor dev` passes an
// implementation to its dashboard; a broker's own dashboard (`kastor broker --http`) never has one, so these
// actions do not exist there. The HTTP side (dev-routes.ts) accepts them as POSTs from loopback only.

export const BROKER_ACTIONS = ['kill', 'pause', 'resume', 'restart'] as const;
export type BrokerAction = (typeof BROKER_ACTIONS)[number];

export interface DevBrokerState {
  id: number;
  pid: number | null;
  /** running; paused (SIGSTOP); down (dead, waiting for its restart or left down); restarting (by the page). */
  state: 'running' | 'paused' | 'down' | 'restarting';
}

export interface DevControls {
  brokers(): DevBrokerState[];
  /** Does it; resolves with one line saying what was done, rejects with a DevActionError when it cannot. */
  act(brokerId: number, action: BrokerAction): Promise<string>;
}

export class DevActionError extends Error {
  readonly code = 'DEV_ACTION_REFUSED';
  constructor(
    message: string,
    readonly facts: { brokerId: number; action: string },
  ) {
    super(message);
    this.name = 'DevActionError';
  }
}
