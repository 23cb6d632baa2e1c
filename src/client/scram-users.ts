// SCRAM users through the admin APIs of KIP-554: DescribeUserScramCredentials lists who has which mechanism,
// AlterUserScramCredentials upserts and deletes. As Kafka's Admin.alterUserScramCredentials does, the client
// draws the salt and runs PBKDF2 itself and sends only the salted password: the password never leaves this
// process, and the broker keeps only StoredKey and ServerKey.
import type { Cluster } from './cluster.ts';
import { ApiKey } from '../protocol/generated/api-keys.ts';
import { KafkaProtocolError } from './errors.ts';
import { nodeSecurityCrypto } from '../runtime/node/node-security-crypto.ts';
import { saltPassword } from '../security/scram.ts';
import { idOfScramMechanism, scramMechanismOfId, type ScramMechanism } from '../security/sasl-mechanisms.ts';

export interface ScramUser {
  user: string;
  credentials: Array<{ mechanism: ScramMechanism; iterations: number }>;
}

const RESOURCE_NOT_FOUND = 91;

/** Every user with a SCRAM credential, or the named ones (an unknown name: KafkaProtocolError RESOURCE_NOT_FOUND). */
export async function describeScramUsers(cluster: Cluster, users: string[] | null = null): Promise<ScramUser[]> {
  return cluster.withRetry('DescribeUserScramCredentials', async () => {
    const nc = await cluster.anyConnection();
    const { body } = await cluster.send(nc, ApiKey.DescribeUserScramCredentials, () => ({ users: users ? users.map((name) => ({ name })) : null }));
    if (body.errorCode !== 0) throw new KafkaProtocolError(body.errorCode, { message: body.errorMessage ?? undefined });
    return body.results.map((r) => {
      if (r.errorCode !== 0 && !(users === null && r.errorCode === RESOURCE_NOT_FOUND)) throw new KafkaProtocolError(r.errorCode, { message: r.errorMessage ?? `user ${r.user}` });
      return { user: r.user, credentials: r.credentialInfos.map((c) => ({ mechanism: scramMechanismOfId(c.mechanism) ?? 'SCRAM-SHA-512', iterations: c.iterations })) };
    });
  });
}

/** Creates or replaces `user`'s credential for `mechanism` from `password` (salted and iterated here). */
export async function upsertScramUser(cluster: Cluster, user: string, mechanism: ScramMechanism, password: string, iterations = 8192): Promise<void> {
  const salt = nodeSecurityCrypto.freshBytes(24);
  const saltedPassword = await saltPassword(nodeSecurityCrypto, mechanism, password, salt, iterations);
  await alter(cluster, { deletions: [], upsertions: [{ name: user, mechanism: idOfScramMechanism(mechanism), iterations, salt, saltedPassword }] });
}

/** Removes `user`'s credential for `mechanism` (RESOURCE_NOT_FOUND when it has none). */
export async function deleteScramUser(cluster: Cluster, user: string, mechanism: ScramMechanism): Promise<void> {
  await alter(cluster, { deletions: [{ name: user, mechanism: idOfScramMechanism(mechanism) }], upsertions: [] });
}

async function alter(cluster: Cluster, body: { deletions: Array<{ name: string; mechanism: number }>; upsertions: Array<{ name: string; mechanism: number; iterations: number; salt: Buffer; saltedPassword: Buffer }> }): Promise<void> {
  await cluster.withRetry('AlterUserScramCredentials', async () => {
    const nc = await cluster.anyConnection();
    const { body: res } = await cluster.send(nc, ApiKey.AlterUserScramCredentials, () => body);
    const failed = res.results.find((r) => r.errorCode !== 0);
    if (failed) throw new KafkaProtocolError(failed.errorCode, { message: `${failed.user}: ${failed.errorMessage ?? ''}` });
  });
}
