// Where SCRAM credentials live: one key per user in the cluster metadata bucket, `scram-users.<hex of the
// name>` (any user name fits a key that way), holding per mechanism only what SCRAM's server keeps — salt,
// iterations, StoredKey, ServerKey (Kafka keeps the same in its metadata log's UserScramCredentialRecord).
// Every broker reads a user's key when one logs in, so a credential altered through any broker holds at once
// on all of them.
import type { MetadataStore } from '../metadata/metadata-store.ts';
import type { ScramCredential } from './scram.ts';
import { SCRAM_MECHANISMS, type ScramMechanism } from './sasl-mechanisms.ts';

export const SCRAM_USERS_PREFIX = 'scram-users';

export type UserCredentials = Partial<Record<ScramMechanism, ScramCredential>>;

const keyOf = (user: string) => `${SCRAM_USERS_PREFIX}.${Buffer.from(user, 'utf8').toString('hex') || '-'}`;
const userOf = (key: string) => Buffer.from(key.slice(SCRAM_USERS_PREFIX.length + 1), 'hex').toString('utf8');

interface Stored {
  user: string;
  credentials: Partial<Record<ScramMechanism, { salt: string; iterations: number; storedKey: string; serverKey: string }>>;
}

function decode(bytes: Uint8Array | null): UserCredentials {
  if (!bytes) return {};
  const stored = JSON.parse(Buffer.from(bytes).toString('utf8')) as Stored;
  const out: UserCredentials = {};
  for (const m of SCRAM_MECHANISMS) {
    const c = stored.credentials?.[m];
    if (c) out[m] = { salt: Buffer.from(c.salt, 'base64'), iterations: c.iterations, storedKey: Buffer.from(c.storedKey, 'base64'), serverKey: Buffer.from(c.serverKey, 'base64') };
  }
  return out;
}

function encode(user: string, creds: UserCredentials): Uint8Array | null {
  const stored: Stored = { user, credentials: {} };
  for (const m of SCRAM_MECHANISMS) {
    const c = creds[m];
    if (c) stored.credentials[m] = { salt: c.salt.toString('base64'), iterations: c.iterations, storedKey: c.storedKey.toString('base64'), serverKey: c.serverKey.toString('base64') };
  }
  return Object.keys(stored.credentials).length === 0 ? null : Buffer.from(JSON.stringify(stored));
}

export class ScramCredentialStore {
  constructor(private readonly metadata: Pick<MetadataStore, 'readOther' | 'otherKeys' | 'updateOther'>) {}

  async get(user: string): Promise<UserCredentials> {
    return decode(await this.metadata.readOther(keyOf(user)));
  }

  async users(): Promise<string[]> {
    return (await this.metadata.otherKeys(SCRAM_USERS_PREFIX)).map(userOf).sort();
  }

  /** Sets (credential) or removes (null) one mechanism's credential of `user`; a user left with none is gone. */
  async set(user: string, mechanism: ScramMechanism, credential: ScramCredential | null): Promise<void> {
    await this.metadata.updateOther(keyOf(user), (current) => {
      const creds = decode(current);
      if (credential) creds[mechanism] = credential;
      else delete creds[mechanism];
      return encode(user, creds);
    });
  }
}
