// `--inspect [URL]`: send every actor's inspection events to a Stately inspector over a WebSocket
// (@statelyai/inspect's createWebSocketInspector, a plain WebSocket client that reconnects every 5 s and
// keeps the last 200 events while it cannot connect). An unreachable inspector costs a reconnect attempt
// every 5 s, never the broker. Inspection costs the data path (DESIGN.md), so this is opt-in; the dashboard's own
// statecharts attach observers only while a viewer is connected (inspection-hub.ts).
import { createWebSocketInspector } from '@statelyai/inspect';
import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';

/** @statelyai/inspect's own default. */
export const DEFAULT_INSPECTOR_URL = 'ws://localhost:8080';

export interface StatelyInspector {
  readonly url: string;
  /** The observer for createActor's `inspect` option or `actor.system.inspect`. */
  readonly inspect: Observer<InspectionEvent>;
  /** Tells the inspector about an actor created before the observer was attached to it. */
  announce(actor: AnyActorRef): void;
  stop(): void;
}

export function createStatelyInspector(url: string, onError?: (err: unknown) => void): StatelyInspector {
  const inspector = createWebSocketInspector({ url });
  // A failing send (socket closing under it) must not reach the actor that is being inspected.
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      onError?.(err);
    }
  };
  return {
    url,
    inspect: { next: (ev: InspectionEvent) => guard(() => inspector.inspect.next?.(ev)) },
    announce: (actor) => guard(() => inspector.actor(actor, actor.getSnapshot() as never)),
    stop: () =>
      guard(() => {
        inspector.stop();
        neutralizeReconnects(inspector.adapter as unknown as Record<string, unknown>);
      }),
  };
}

/**
 * The WebSocket adapter retries a failed connection every 5 s forever, and its stop() does not cancel a retry
 * already scheduled. After stop, a socket the retry opens is closed at once and given no handlers, so the
 * loop ends there (a pending retry may still hold the process for up to 5 s).
 */
function neutralizeReconnects(adapter: Record<string, unknown>): void {
  const inert: Record<string, unknown> = { send() {}, close() {} };
  Object.defineProperty(adapter, 'ws', {
    configurable: true,
    get: () => inert,
    set: (socket: { on?: (ev: string, fn: () => void) => void; terminate?: () => void; close?: () => void }) => {
      socket.on?.('error', () => {});
      if (socket.terminate) socket.terminate();
      else socket.close?.();
    },
  });
}

/**
 * `--inspect` takes an optional value: a bare `--inspect` (last, or followed by another flag) becomes
 * `--inspect=<default URL>` so the strict flag parser sees a value.
 */
export function normalizeInspectFlag(argv: string[]): string[] {
  return argv.flatMap((arg, i) => (arg === '--inspect' && (i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) ? [`--inspect=${DEFAULT_INSPECTOR_URL}`] : [arg]));
}
