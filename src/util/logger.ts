// Structured logs: one JSON object per line on stderr (or a sink a test passes in), with the facts an
// operator needs to act ({ topic, partition, offset, broker }). Loggers are values passed down, never a
// module-level singleton, so several brokers in one process keep their logs apart.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, facts?: Record<string, unknown>): void;
  info(msg: string, facts?: Record<string, unknown>): void;
  warn(msg: string, facts?: Record<string, unknown>): void;
  error(msg: string, facts?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  bindings?: Record<string, unknown>;
  sink?: (line: string) => void;
  /** The wall clock the lines are stamped with (ms since the epoch): the runtime's, e.g. simulated time. */
  now: () => number;
}

/** A logger stamping lines with `opts.now`; on Node, createNodeLogger (src/runtime/node/node-logger.ts) gives the real clock. */
export function createLogger(opts: LoggerOptions): Logger {
  const level = RANK[opts.level ?? ((process.env.KASTOR_LOG_LEVEL as LogLevel) || 'info')] ?? RANK.info;
  const bindings = opts.bindings ?? {};
  const sink = opts.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = opts.now;
  const emit = (lvl: LogLevel, msg: string, facts?: Record<string, unknown>) => {
    if (RANK[lvl] < level) return;
    const entry: Record<string, unknown> = { time: new Date(now()).toISOString(), level: lvl, msg, ...bindings };
    if (facts) {
      for (const [k, v] of Object.entries(facts)) {
        entry[k] = v instanceof Error ? { message: v.message, code: (v as { code?: unknown }).code } : typeof v === 'bigint' ? v.toString() : v;
      }
    }
    sink(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (b) => createLogger({ level: opts.level, bindings: { ...bindings, ...b }, sink, now }),
  };
}

/** A logger that drops everything (unit tests). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
