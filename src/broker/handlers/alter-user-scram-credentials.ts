// AlterUserScramCredentials (API 51, KIP-554): upserts and deletes SCRAM credentials. The client salts and
// iterates the password itself and sends the salted password only, from which the broker keeps StoredKey and
// ServerKey (scram.ts); the password never reaches the broker. Checks are Kafka's: a known mechanism,
// 4096-16384 iterations, a non-empty name and salt, one alteration per user and mechanism, and a deletion of a
// credential that does not exist is RESOURCE_NOT_FOUND. One result per user named.
import type { AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse } from '../../protocol/generated/alter-user-scram-credentials.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import type { RequestContext } from '../request-router.ts';
import { ScramCredentialStore } from '../../security/scram-credentials.ts';
import { credentialFromSaltedPassword } from '../../security/scram.ts';
import { MAX_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS, scramMechanismOfId } from '../../security/sasl-mechanisms.ts';

type Result = { errorCode: number; errorMessage: string | null };

export async function alterUserScramCredentials(svc: BrokerServices, req: AlterUserScramCredentialsRequest, ctx: RequestContext): Promise<AlterUserScramCredentialsResponse> {
  const store = new ScramCredentialStore(svc.metadata);
  const crypto = ctx.conn.security?.crypto;
  const results = new Map<string, Result>();
  // A user's first error is its result.
  const fail = (user: string, errorCode: number, errorMessage: string) => {
    if (!results.get(user)?.errorCode) results.set(user, { errorCode, errorMessage });
  };
  const seen = new Set<string>();
  const alterations = [...req.deletions.map((d) => ({ ...d, upsert: null })), ...req.upsertions.map((u) => ({ name: u.name, mechanism: u.mechanism, upsert: u }))];
  for (const a of alterations) {
    if (!results.has(a.name)) results.set(a.name, { errorCode: ErrorCode.NONE, errorMessage: null });
    const key = `${a.name}\0${a.mechanism}`;
    if (seen.has(key)) fail(a.name, ErrorCode.DUPLICATE_RESOURCE, `A user credential cannot be altered twice in the same request: ${a.name}`);
    seen.add(key);
  }
  for (const a of alterations) {
    const user = a.name;
    if (results.get(user)!.errorCode !== ErrorCode.NONE) continue;
    const mechanism = scramMechanismOfId(a.mechanism);
    if (user === '') fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
    else if (!mechanism) fail(user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism ${a.mechanism}`);
    else if (a.upsert) {
      const { iterations, salt, saltedPassword } = a.upsert;
      if (iterations < MIN_SCRAM_ITERATIONS) fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too few iterations: ${iterations} (at least ${MIN_SCRAM_ITERATIONS})`);
      else if (iterations > MAX_SCRAM_ITERATIONS) fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too many iterations: ${iterations} (at most ${MAX_SCRAM_ITERATIONS})`);
      else if (salt.length === 0 || saltedPassword.length === 0) fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salt and salted password must not be empty');
      else if (!crypto) fail(user, ErrorCode.UNKNOWN_SERVER_ERROR, 'this connection has no means to derive SCRAM keys');
    }
  }
  for (const a of alterations) {
    if (results.get(a.name)!.errorCode !== ErrorCode.NONE) continue;
    const mechanism = scramMechanismOfId(a.mechanism)!;
    try {
      if (a.upsert) {
        await store.set(a.name, mechanism, credentialFromSaltedPassword(crypto!, mechanism, Buffer.from(a.upsert.salt), a.upsert.iterations, a.upsert.saltedPassword));
      } else if (!(await store.get(a.name))[mechanism]) {
        fail(a.name, ErrorCode.RESOURCE_NOT_FOUND, `Attempt to delete a user credential that does not exist: ${a.name} ${mechanism}`);
      } else await store.set(a.name, mechanism, null);
    } catch (err) {
      fail(a.name, ErrorCode.UNKNOWN_SERVER_ERROR, `storing the credential failed: ${(err as Error).message}`);
    }
  }
  if (results.size > 0) svc.logger.info('SCRAM credentials altered', { users: [...results.keys()], principal: ctx.conn.security?.principal });
  return { throttleTimeMs: 0, results: [...results].map(([user, r]) => ({ user, ...r })) };
}
