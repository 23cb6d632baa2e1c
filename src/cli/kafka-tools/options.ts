// What Kafka's four command-line tools share: their option syntax and their connection settings.
//
// The syntax is joptsimple's, as Kafka's tools use it: long options only, `--name value` or `--name=value`,
// an unambiguous prefix stands for the whole name (`--bootstrap` for `--bootstrap-server`), an option that
// takes a value takes the next argument whatever it looks like, and some options repeat (`--config`).
// Anything else — an unknown option, a missing value, a stray argument — is a ToolError naming it, which
// each tool prints as one line and exit code 1 (Kafka's tools exit 1 on bad options too).
//
// The connection comes from --bootstrap-server and --command-config (a Java properties file of admin
// client settings). These scripts speak PLAINTEXT only (TLS and SASL are for Kastor's own CLI so far), so a file asking for TLS or SASL is refused rather than
// silently connecting without them; the client settings Kastor's client has no use for are ignored, as
// Kafka's admin client ignores unknown ones.
import { readFileSync } from 'node:fs';
import type { KafkaOptions } from '../../client/kafka.ts';
import { parseBootstrap } from '../../client/cluster.ts';
import { KafkaClientError, KafkaProtocolError } from '../../client/errors.ts';
import { ConnectionError } from '../../client/broker-connection.ts';

/** What --version prints: the Kafka tools these follow, and that it is Kastor answering. */
export const VERSION = '3.9.0 (Kastor)';

/** A failure the tool reports as one line and exit code 1. */
export class ToolError extends Error {
  readonly code = 'KAFKA_TOOL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ToolError';
  }
}

export interface OptionSpec {
  /** Takes a value (`--topic T`); otherwise a switch (`--list`). */
  value?: string;
  /** The value may be left out (joptsimple's withOptionalArg: `--state` or `--state Stable`). */
  optionalValue?: boolean;
  /** May be given more than once; every value is kept. */
  repeats?: boolean;
  description: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export class ParsedOptions {
  constructor(private readonly values: Map<string, string[]>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  value(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  all(name: string): string[] {
    return this.values.get(name) ?? [];
  }
}

/** Options every tool gets, besides its own. ZooKeeper is named so that its refusal says why. */
export const COMMON_OPTIONS: OptionSpecs = {
  'bootstrap-server': { value: 'HOST:PORT[,HOST:PORT]', description: 'REQUIRED: the Kastor broker(s) to connect to' },
  'command-config': { value: 'FILE', description: 'properties file of admin client settings (PLAINTEXT only)' },
  zookeeper: { value: 'HOST:PORT', description: 'refused: Kastor has no ZooKeeper (use --bootstrap-server)' },
  help: { description: 'print usage information' },
  version: { description: 'print the version' },
};

export function parseOptions(specs: OptionSpecs, argv: string[]): ParsedOptions {
  const all = { ...COMMON_OPTIONS, ...specs };
  const names = Object.keys(all);
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      throw new ToolError(`unexpected argument '${arg}': options are given as --name [value] (see --help)`);
    }
    const eq = arg.indexOf('=');
    const given = arg.slice(2, eq < 0 ? undefined : eq);
    const name = resolveName(names, given);
    const spec = all[name]!;
    let value: string;
    if (spec.value === undefined) {
      if (eq >= 0) throw new ToolError(`option --${name} takes no value, got '${arg}'`);
      value = '';
    } else if (eq >= 0) value = arg.slice(eq + 1);
    else if (spec.optionalValue) value = i + 1 < argv.length && !argv[i + 1]!.startsWith('--') ? argv[++i]! : '';
    else {
      if (i + 1 >= argv.length) throw new ToolError(`option --${name} requires an argument (${spec.value})`);
      value = argv[++i]!;
    }
    const seen = values.get(name);
    if (seen && !spec.repeats) throw new ToolError(`option --${name} was given more than once`);
    values.set(name, [...(seen ?? []), value]);
  }
  return new ParsedOptions(values);
}

/** joptsimple's abbreviations: an exact name, else the one name the text is a prefix of. */
function resolveName(names: string[], given: string): string {
  if (names.includes(given)) return given;
  const candidates = given === '' ? [] : names.filter((n) => n.startsWith(given));
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) throw new ToolError(`option --${given} is ambiguous (--${candidates.join(', --')})`);
  throw new ToolError(`--${given} is not a recognized option`);
}

/** The usage text of a tool: its purpose, then one line per option. */
/**
 * Kafka's tools' answer to no arguments (usage on stderr, exit 1), --help (usage on stdout, exit 0) and --version;
 * null when the tool should go on with the options given.
 */
export function helpOrVersion(argv: string[], opts: ParsedOptions, tool: string, purpose: string, specs: OptionSpecs): number | null {
  if (argv.length === 0 || opts.has('help')) {
    (argv.length === 0 ? console.error : console.log)(usage(tool, purpose, specs));
    return argv.length === 0 ? 1 : 0;
  }
  if (opts.has('version')) {
    console.log(VERSION);
    return 0;
  }
  return null;
}

export function usage(tool: string, purpose: string, specs: OptionSpecs, notes: string[] = []): string {
  const rows = Object.entries({ ...specs, ...COMMON_OPTIONS }).map(([name, s]) => [`--${name}${s.value ? ` <${s.value}>` : ''}`, s.description]);
  const width = Math.max(...rows.map((r) => r[0]!.length)) + 2;
  return [`${tool} (Kastor): ${purpose}`, '', 'Option'.padEnd(width) + 'Description', ...rows.map(([l, r]) => l!.padEnd(width) + r), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** Refusals every tool makes the same way: ZooKeeper, and options that need one another. */
export function checkCommon(opts: ParsedOptions): void {
  if (opts.has('zookeeper')) {
    throw new ToolError('--zookeeper is not supported: Kastor has no ZooKeeper (its metadata lives in NATS); connect with --bootstrap-server HOST:PORT');
  }
}

/** Exactly one of the actions, or a ToolError listing them (Kafka's wording). */
export function oneAction(opts: ParsedOptions, actions: string[]): string {
  const given = actions.filter((a) => opts.has(a));
  if (given.length !== 1) throw new ToolError(`Command must include exactly one action: ${actions.map((a) => `--${a}`).join(', ')}`);
  return given[0]!;
}

/** Options that make sense only with some actions: `--config` with `--list` is an error, as in Kafka. */
export function onlyWith(opts: ParsedOptions, action: string, rules: Record<string, string[]>): void {
  for (const [option, actions] of Object.entries(rules)) {
    if (opts.has(option) && !actions.includes(action)) {
      throw new ToolError(`Option "[${option}]" can't be used with option "[${action}]"`);
    }
  }
}

/** A Java properties file: `key=value`, `key: value` or `key value`, `#`/`!` comments, `\` continuations. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.replace(/^\s+/, '');
    const m = /^((?:\\.|[^=:\s\\])*)\s*[=:\s]?\s*(.*)$/.exec(line)!;
    out.set(unescape(m[1]!), unescape(m[2]!));
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => (c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16)) : ({ t: '\t', n: '\n', r: '\r', f: '\f' } as Record<string, string>)[c] ?? c));
}

/** Kastor's client settings from --bootstrap-server and --command-config. */
export function connectionOptions(opts: ParsedOptions, clientId: string): KafkaOptions {
  const bootstrap = opts.value('bootstrap-server');
  if (bootstrap === undefined) throw new ToolError('--bootstrap-server must be specified');
  // Kafka accepts a listener prefix (PLAINTEXT://host:port) in bootstrap.servers.
  const servers = bootstrap.split(',').map((s) => s.trim().replace(/^PLAINTEXT:\/\//i, ''));
  try {
    parseBootstrap(servers);
  } catch {
    throw new ToolError(`--bootstrap-server must be HOST:PORT[,HOST:PORT...], got '${bootstrap}'`);
  }
  const settings: KafkaOptions = { bootstrap: servers, clientId, retry: { retries: 3, maxBackoffMs: 1000 } };
  const file = opts.value('command-config');
  if (file === undefined) return settings;
  const props = parseProperties(readOptionFile('command-config', file));
  const protocol = props.get('security.protocol');
  if (protocol !== undefined && protocol.toUpperCase() !== 'PLAINTEXT') {
    throw new ToolError(`security.protocol=${protocol} in ${file} is not supported: these scripts speak PLAINTEXT only (Kastor's own CLI takes TLS and SASL); point --bootstrap-server at a PLAINTEXT listener`);
  }
  const clientIdProp = props.get('client.id');
  if (clientIdProp) settings.clientId = clientIdProp;
  const timeout = Number(props.get('request.timeout.ms'));
  if (Number.isInteger(timeout) && timeout > 0) settings.requestTimeoutMs = timeout;
  return settings;
}

/**
 * The message Kafka's admin client would carry for an error: the broker's message, else the error's
 * standard one. TOPIC_ALREADY_EXISTS is worded as Kafka's broker words it, since scripts match on it.
 */
export function kafkaMessage(err: unknown): string {
  if (err instanceof ToolError) return err.message;
  if (err instanceof KafkaProtocolError) {
    if (err.code === 36 && err.topic !== undefined) return `Topic '${err.topic}' already exists.`;
    return err.message.replace(/^[A-Z_0-9]+(?: \([^)]*\))?: /, '');
  }
  if (err instanceof KafkaClientError || err instanceof ConnectionError) return err.message;
  return (err as Error)?.message ?? String(err);
}

/** The text of the file an option names; one that cannot be read is a ToolError naming the option. */
export function readOptionFile(option: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ToolError(`cannot read --${option} ${file}: ${(err as Error).message}`);
  }
}
