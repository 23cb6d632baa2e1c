// `kastor nats-config`: the authorization block of a nats-server config that closes Kastor's bus
// (src/security/nats-authorization.ts), printed on stdout to be included from nats.conf. The brokers' login is
// a credentials file (`--credentials FILE`: user= and password=, made with a random password when missing) or
// an nkey (`--nkey FILE`: a user seed file, made when missing; the config then holds only the public key, so
// it is no secret). The same file is what each broker is given (`kastor broker --nats-credentials FILE` or
// `--nats-nkey FILE`).
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';
import { helpText, parseFlags, UsageError, type FlagSpecs } from './args.ts';
import { natsAuthorizationConfig, type NatsUser } from '../security/nats-authorization.ts';
import { formatNatsCredentials, parseNatsCredentials } from '../security/nats-credentials.ts';
import { DEFAULT_METADATA_BUCKET } from '../runtime/node/nats-kv.ts';

const FLAGS = {
  credentials: { type: 'string', description: "the brokers' login file (user=, password=); made with a random password when missing", value: 'FILE' },
  user: { type: 'string', description: 'the NATS user of a credentials file made here', default: 'kastor-broker', value: 'NAME' },
  nkey: { type: 'string', description: "the brokers' nkey seed file (SU...); made when missing (the config holds only its public key)", value: 'FILE' },
  bucket: { type: 'string', description: 'the metadata bucket (and so the subject prefix) of the cluster', default: DEFAULT_METADATA_BUCKET, value: 'NAME' },
} satisfies FlagSpecs;

/** The user/password login in `file`, written first (mode 0600, a random password) when the file is missing. */
export function ensureNatsCredentials(file: string, user: string): { user: string; password: string } {
  if (!existsSync(file)) {
    writeFileSync(file, formatNatsCredentials({ user, password: randomBytes(24).toString('base64url') }), { mode: 0o600 });
    chmodSync(file, 0o600); // the mode of writeFileSync is masked by the umask
  }
  const login = parseNatsCredentials(readFileSync(file, 'utf8'), file);
  if ('token' in login) throw new UsageError(`${file} holds a token; the NATS config needs a user= and password= login (or use --nkey)`);
  return login;
}

/** The nkey user in the seed file `file`, made first (mode 0600) when missing: its public key. */
export function ensureNatsNkey(file: string): string {
  if (!existsSync(file)) writeFileSync(file, `${new TextDecoder().decode(nkeys.createUser().getSeed())}\n`, { mode: 0o600 });
  const seed = readFileSync(file, 'utf8').split(/\s+/).find((w) => w.startsWith('SU'));
  if (!seed) throw new UsageError(`${file} holds no nkey user seed (a line starting with SU)`);
  return nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
}

export async function natsConfigCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(helpText('nats-config', "print the authorization block that closes Kastor's NATS bus (include it from nats.conf)", FLAGS));
    return 0;
  }
  const f = parseFlags('nats-config', FLAGS, argv);
  if (f._.length > 0) throw new UsageError(`unexpected argument "${f._[0]}" (see: kastor nats-config --help)`);
  if (!f.credentials === !f.nkey) throw new UsageError('give --credentials FILE or --nkey FILE (the login the brokers will use)');
  const broker: NatsUser = f.nkey ? { nkey: ensureNatsNkey(f.nkey) } : ensureNatsCredentials(f.credentials!, f.user);
  console.log(natsAuthorizationConfig({ bucket: f.bucket, brokers: [broker] }));
  return 0;
}
