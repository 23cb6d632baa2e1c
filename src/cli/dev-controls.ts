// The dashboard's buttons in `kastor dev` (src/dashboard/dev-controls.ts), over the brokers dev supervises.
// kill, pause and resume are signals to the broker's process: a killed broker is then reported and restarted
// by the supervisor like any broker that dies. restart is a clean stop and start that the supervisor is told
// about first, so it neither reports the exit as a death nor starts a second process; it also starts a broker
// that is down (left down by --restart=false, or waiting for its restart).
import { DevActionError, type BrokerAction, type DevBrokerState, type DevControls } from '../dashboard/dev-controls.ts';
import type { DevBroker, Listening } from './dev-broker.ts';

export interface SupervisedBrokers {
  brokers: readonly DevBroker[];
  /** Ids whose exit dev must not treat as a death (a restart from the page is under way). */
  restarting: Set<number>;
  /** Cancels a pending restart of the broker (its timer), if any. */
  cancelRestart(id: number): void;
  /** Prints what happened, as dev prints its other events. */
  say(line: string): void;
  describe(id: number, l: Listening): string;
  shuttingDown(): boolean;
}

export function devControls(s: SupervisedBrokers): DevControls {
  const brokerOf = (id: number, action: string): DevBroker => {
    const b = s.brokers[id - 1];
    if (!b || !Number.isInteger(id)) throw new DevActionError(`there is no broker ${id} (dev runs brokers 1-${s.brokers.length})`, { brokerId: id, action });
    return b;
  };
  return {
    brokers(): DevBrokerState[] {
      return s.brokers.map((b, n) => ({
        id: n + 1,
        pid: b.pid ?? null,
        state: s.restarting.has(n + 1) ? 'restarting' : !b.running ? 'down' : b.paused ? 'paused' : 'running',
      }));
    },
    async act(id: number, action: BrokerAction): Promise<string> {
      const b = brokerOf(id, action);
      const refuse = (why: string) => new DevActionError(`cannot ${action} broker ${id}: ${why}`, { brokerId: id, action });
      if (s.shuttingDown()) throw refuse('dev is stopping');
      if (s.restarting.has(id)) throw refuse('it is restarting');
      const pid = b.pid;
      if (action === 'restart') {
        s.restarting.add(id);
        s.cancelRestart(id);
        try {
          s.say(`broker ${id}: restarting (from the dashboard)`);
          await b.stop();
          const l = await b.start();
          s.say(`broker ${id} restarted — ${s.describe(id, l)}`);
          return `broker ${id} restarted (pid ${l.pid})`;
        } catch (err) {
          throw refuse((err as Error).message);
        } finally {
          s.restarting.delete(id);
        }
      }
      if (!b.running || pid === undefined) throw refuse('it is not running');
      if (action === 'pause' && b.paused) throw refuse('it is paused already');
      if (action === 'resume' && !b.paused) throw refuse('it is not paused');
      const signal = action === 'kill' ? 'SIGKILL' : action === 'pause' ? 'SIGSTOP' : 'SIGCONT';
      b.signal(signal);
      s.say(`broker ${id} (pid ${pid}): ${signal} from the dashboard`);
      return `broker ${id} (pid ${pid}) sent ${signal}`;
    },
  };
}
