// A small, strict flag parser for the `kastor` command: every command declares its flags, and anything else
// (an unknown flag, a missing value, a number that is not one) is a one-line error that names the command's
// --help, with exit code 2. Small enough that a dependency would not pay for itself.

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean';
  description: string;
  default?: string | number | boolean;
  required?: boolean;
  /** Placeholder shown in help, e.g. HOST:PORT. */
  value?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type ParsedFlags<S extends FlagSpecs> = {
  [K in keyof S]: S[K]['type'] extends 'number' ? number : S[K]['type'] extends 'boolean' ? boolean : string;
} & { _: string[] };

export function parseFlags<S extends FlagSpecs>(command: string, specs: S, argv: string[]): ParsedFlags<S> {
  const out: Record<string, unknown> = { _: [] as string[] };
  for (const [name, spec] of Object.entries(specs)) if (spec.default !== undefined) out[name] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      (out._ as string[]).push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option --${name} for "${command}" (see: kastor ${command} --help)`);
    let raw: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (spec.type === 'boolean') {
      if (raw === undefined) out[name] = true;
      else if (raw === 'true' || raw === 'false') out[name] = raw === 'true';
      else throw new UsageError(`--${name} takes no value or true/false, got "${raw}"`);
      continue;
    }
    if (raw === undefined) {
      raw = argv[++i];
      if (raw === undefined || raw.startsWith('--')) throw new UsageError(`--${name} needs a value${spec.value ? ` (${spec.value})` : ''}`);
    }
    if (spec.type === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
      out[name] = n;
    } else out[name] = raw;
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && out[name] === undefined) throw new UsageError(`missing --${name}${spec.value ? ` ${spec.value}` : ''} for "${command}" (see: kastor ${command} --help)`);
  }
  return out as ParsedFlags<S>;
}

export function helpText(command: string, summary: string, specs: FlagSpecs): string {
  const lines = [`kastor ${command} — ${summary}`, '', 'Options:'];
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = `  --${name}${s.type === 'boolean' ? '' : ` ${s.value ?? s.type.toUpperCase()}`}`;
    const def = s.default !== undefined && s.type !== 'boolean' ? ` (default: ${s.default})` : s.required ? ' (required)' : '';
    return [left, `${s.description}${def}`];
  });
  rows.push(['  --help', 'show this help']);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  for (const [l, r] of rows) lines.push(l.padEnd(width) + r);
  return lines.join('\n');
}

/** Parses HOST:PORT (IPv6 in brackets allowed). */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  if (!m) throw new UsageError(`--${flag} must be HOST:PORT, got "${value}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`--${flag} port must be at most 65535, got ${port}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}
