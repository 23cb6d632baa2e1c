// DescribeUserScramCredentials (API 50, KIP-554): which SCRAM mechanisms (and iteration counts) each user has,
// never the credentials themselves. All users when none are named; an unknown name is RESOURCE_NOT_FOUND and a
// name asked twice DUPLICATE_RESOURCE, as Kafka answers.
import type { DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse } from '../../protocol/generated/describe-user-scram-credentials.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { ScramCredentialStore } from '../../security/scram-credentials.ts';
import { idOfScramMechanism, SCRAM_MECHANISMS } from '../../security/sasl-mechanisms.ts';

export async function describeUserScramCredentials(svc: BrokerServices, req: DescribeUserScramCredentialsRequest): Promise<DescribeUserScramCredentialsResponse> {
  const store = new ScramCredentialStore(svc.metadata);
  const asked = req.users && req.users.length > 0 ? req.users.map((u) => u.name) : null;
  const names = asked ?? (await store.users());
  const results = await Promise.all(
    names.map(async (user, i) => {
      if (asked && asked.indexOf(user) !== i) return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`, credentialInfos: [] };
      const creds = await store.get(user);
      const credentialInfos = SCRAM_MECHANISMS.filter((m) => creds[m]).map((m) => ({ mechanism: idOfScramMechanism(m), iterations: creds[m]!.iterations }));
      if (credentialInfos.length === 0) return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos };
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos };
    }),
  );
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
}
