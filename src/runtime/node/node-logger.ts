// The logger on Node: lines stamped with the real wall clock unless a test or the simulator gives another.
import { createLogger, type Logger, type LoggerOptions } from '../../util/logger.ts';
import { nodeClock } from './node-clock.ts';

export function createNodeLogger(opts: Partial<LoggerOptions> = {}): Logger {
  return createLogger({ ...opts, now: opts.now ?? nodeClock.wall });
}
