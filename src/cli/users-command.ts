// `kastor users`: SASL/SCRAM users of the cluster (DescribeUserScramCredentials, AlterUserScramCredentials).
// - create NAME: gives NAME a credential for --mechanism (SCRAM-SHA-512 by default; run it again with the other
//   mechanism for both), replacing one it had; the password is read from stdin (one line) or, on a terminal,
//   asked for without echo — never a flag, which `ps` and shell history would show.
// - list: users and their mechanisms with iteration counts (no credential ever comes back).
// - delete NAME: removes NAME's credential for --mechanism, or every one it has without --mechanism.
// PLAIN logins check against these credentials too.
import { Kafka } from '../client/index.ts';
import { deleteScramUser, describeScramUsers, upsertScramUser } from '../client/scram-users.ts';
import { UsageError, helpText, parseFlags, type FlagSpecs } from './args.ts';
import { parseBootstrapFlag, stringifyJson } from './topic-command.ts';
import { CLIENT_SECURITY_FLAGS, clientSecurityOptions } from './client-security.ts';
import { MAX_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS, SCRAM_MECHANISMS, type ScramMechanism } from '../security/sasl-mechanisms.ts';

const FLAGS = {
  bootstrap: { type: 'string', description: 'brokers to connect to, comma-separated', default: '127.0.0.1:9092', value: 'HOST:PORT[,..]' },
  mechanism: { type: 'string', description: 'SCRAM-SHA-256 or SCRAM-SHA-512 (create: default SCRAM-SHA-512; delete: default every one)', value: 'MECHANISM' },
  iterations: { type: 'number', description: `PBKDF2 iterations of a new credential (${MIN_SCRAM_ITERATIONS}-${MAX_SCRAM_ITERATIONS})`, default: 8192, value: 'N' },
  json: { type: 'boolean', description: 'print JSON instead of text' },
  ...CLIENT_SECURITY_FLAGS,
} satisfies FlagSpecs;

const SUBCOMMANDS = ['create', 'list', 'delete'];

export async function usersCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || !SUBCOMMANDS.includes(sub)) {
    const text = helpText('users', 'SASL/SCRAM users: kastor users create|list|delete [NAME]', FLAGS);
    if (sub && sub !== '--help') throw new UsageError(`unknown users command "${sub}" (create, list, delete)`);
    console.log(text);
    return sub ? 0 : 2;
  }
  const f = parseFlags(`users ${sub}`, FLAGS, rest);
  const mechanism = f.mechanism === undefined ? undefined : (f.mechanism.toUpperCase() as ScramMechanism);
  if (mechanism && !SCRAM_MECHANISMS.includes(mechanism)) throw new UsageError(`--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, got "${f.mechanism}"`);
  const name = f._[0];
  if (sub !== 'list' && (name === undefined || name === '')) throw new UsageError(`kastor users ${sub} needs a user NAME`);
  if (f._.length > (sub === 'list' ? 0 : 1)) throw new UsageError(`unexpected argument "${f._.at(-1)}"`);
  if (sub === 'create' && (!Number.isInteger(f.iterations) || f.iterations < MIN_SCRAM_ITERATIONS || f.iterations > MAX_SCRAM_ITERATIONS)) {
    throw new UsageError(`--iterations must be a whole number from ${MIN_SCRAM_ITERATIONS} to ${MAX_SCRAM_ITERATIONS}, got ${f.iterations}`);
  }
  const admin = new Kafka({ bootstrap: parseBootstrapFlag(f.bootstrap), clientId: 'kastor-users', retry: { retries: 3, maxBackoffMs: 1000 }, ...clientSecurityOptions(f, process.env) }).admin();
  try {
    if (sub === 'list') {
      const users = await describeScramUsers(admin.cluster);
      if (f.json) console.log(stringifyJson(users));
      else if (users.length === 0) console.log('no SCRAM users');
      else for (const u of users) console.log(`${u.user}\t${u.credentials.map((c) => `${c.mechanism} (${c.iterations} iterations)`).join(', ')}`);
    } else if (sub === 'create') {
      const password = await readPassword(name!);
      await upsertScramUser(admin.cluster, name!, mechanism ?? 'SCRAM-SHA-512', password, f.iterations);
      console.log(`user ${name}: ${mechanism ?? 'SCRAM-SHA-512'} credential set`);
    } else {
      const has = mechanism ? [mechanism] : ((await describeScramUsers(admin.cluster, [name!]))[0]?.credentials.map((c) => c.mechanism) ?? []);
      for (const m of has) await deleteScramUser(admin.cluster, name!, m);
      console.log(`user ${name}: ${has.join(', ')} credential${has.length === 1 ? '' : 's'} deleted`);
    }
  } finally {
    await admin.close();
  }
  return 0;
}

/** The new password: stdin's first line, or asked for without echo on a terminal. */
async function readPassword(user: string): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    process.stderr.write(`password for ${user}: `);
    stdin.setRawMode(true);
  }
  const chunks: Buffer[] = [];
  const line = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('utf8');
      if (stdin.isTTY && text.includes('\u0003')) reject(new UsageError('interrupted'));
      const end = text.search(/[\r\n]/);
      if (end >= 0) finish(text.slice(0, end));
    };
    const onEnd = () => finish(Buffer.concat(chunks).toString('utf8'));
    const finish = (s: string) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      resolve(s);
    };
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  }).finally(() => {
    if (stdin.isTTY) {
      stdin.setRawMode(false);
      process.stderr.write('\n');
    }
  });
  if (line === '') throw new UsageError('the password is empty (give it on stdin or at the prompt)');
  return line;
}
