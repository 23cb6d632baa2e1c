// Routes each Kafka request frame to its API's handler and encodes the answer.
//
// Kafka's rules for what cannot be served: an ApiVersions request of an unknown version is answered in v0
// with UNSUPPORTED_VERSION and the supported ranges (KIP-511), so the client retries with one it shares;
// any other API key or version the broker does not serve, and a request whose body does not parse, closes
// the connection (Kafka's SocketServer does the same) with a log line naming what was sent.
// ApiVersions advertises exactly the APIs that have a handler here.
import { peekRequestHeader, decodeRequest, encodeResponse } from '../protocol/frames.ts';
import { ApiKey, API_NAMES, SUPPORTED_VERSIONS } from '../protocol/generated/api-keys.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { CloseConnection, type ConnectionInfo, type RequestHandler } from './request-handler.ts';
import type { BrokerServices } from './broker-services.ts';
import { apiVersionsResponse } from './handlers/api-versions.ts';
import { metadata } from './handlers/metadata.ts';
import { produce } from './handlers/produce.ts';
import { fetch } from './handlers/fetch.ts';
import { listOffsets } from './handlers/list-offsets.ts';
import { createTopics } from './handlers/create-topics.ts';
import { deleteTopics } from './handlers/delete-topics.ts';
import { describeConfigs } from './handlers/describe-configs.ts';
import { initProducerId } from './handlers/init-producer-id.ts';
import { addPartitionsToTxn } from './handlers/add-partitions-to-txn.ts';
import { addOffsetsToTxn } from './handlers/add-offsets-to-txn.ts';
import { endTxn } from './handlers/end-txn.ts';
import { txnOffsetCommit } from './handlers/txn-offset-commit.ts';
import { describeTransactions } from './handlers/describe-transactions.ts';
import { listTransactions } from './handlers/list-transactions.ts';
import { describeProducers } from './handlers/describe-producers.ts';
import { describeCluster } from './handlers/describe-cluster.ts';
import { createPartitions } from './handlers/create-partitions.ts';
import { findCoordinator } from './handlers/find-coordinator.ts';
import { joinGroup } from './handlers/join-group.ts';
import { syncGroup } from './handlers/sync-group.ts';
import { heartbeat } from './handlers/heartbeat.ts';
import { leaveGroup } from './handlers/leave-group.ts';
import { offsetCommit } from './handlers/offset-commit.ts';
import { offsetFetch } from './handlers/offset-fetch.ts';
import { describeGroups } from './handlers/describe-groups.ts';
import { listGroups } from './handlers/list-groups.ts';
import { deleteGroups } from './handlers/delete-groups.ts';
import { offsetDelete } from './handlers/offset-delete.ts';
import { deleteRecords } from './handlers/delete-records.ts';
import { describeLogDirs } from './handlers/describe-log-dirs.ts';
import { offsetForLeaderEpoch } from './handlers/offset-for-leader-epoch.ts';
import { alterConfigs } from './handlers/alter-configs.ts';
import { incrementalAlterConfigs } from './handlers/incremental-alter-configs.ts';
import { electLeaders } from './handlers/elect-leaders.ts';
import { alterPartitionReassignments } from './handlers/alter-partition-reassignments.ts';
import { listPartitionReassignments } from './handlers/list-partition-reassignments.ts';
import { saslHandshake } from './handlers/sasl-handshake.ts';
import { saslAuthenticate, rawSaslToken } from './handlers/sasl-authenticate.ts';
import { describeUserScramCredentials } from './handlers/describe-user-scram-credentials.ts';
import { alterUserScramCredentials } from './handlers/alter-user-scram-credentials.ts';
import { describeAcls } from './handlers/describe-acls.ts';
import { createAcls } from './handlers/create-acls.ts';
import { deleteAcls } from './handlers/delete-acls.ts';
import { refusal } from '../security/sasl-server.ts';
import { GATES } from './authorization/gates.ts';

export interface RequestContext {
  apiVersion: number;
  clientId: string | null;
  conn: ConnectionInfo;
}

/** A handler returns the response body, or null for no response (acks=0). */
type Handler = (svc: BrokerServices, body: any, ctx: RequestContext) => unknown | Promise<unknown>;

const HANDLERS: Partial<Record<number, Handler>> = {
  [ApiKey.ApiVersions]: () => apiVersionsResponse(served()),
  [ApiKey.Metadata]: (svc, body, ctx) => metadata(svc, body, ctx.apiVersion, ctx.conn.security?.listener),
  [ApiKey.Produce]: (svc, body, ctx) => produce(svc, body, ctx.apiVersion),
  [ApiKey.Fetch]: (svc, body, ctx) => fetch(svc, body, ctx.apiVersion, ctx.conn),
  [ApiKey.ListOffsets]: (svc, body, ctx) => listOffsets(svc, body, ctx.apiVersion),
  [ApiKey.CreateTopics]: (svc, body) => createTopics(svc, body),
  [ApiKey.DeleteTopics]: (svc, body, ctx) => deleteTopics(svc, body, ctx.apiVersion),
  [ApiKey.DescribeConfigs]: (svc, body) => describeConfigs(svc, body),
  [ApiKey.InitProducerId]: (svc, body, ctx) => initProducerId(svc, body, ctx.apiVersion, ctx.clientId),
  [ApiKey.AddPartitionsToTxn]: (svc, body, ctx) => addPartitionsToTxn(svc, body, ctx.apiVersion),
  [ApiKey.AddOffsetsToTxn]: (svc, body, ctx) => addOffsetsToTxn(svc, body, ctx.apiVersion),
  [ApiKey.EndTxn]: (svc, body, ctx) => endTxn(svc, body, ctx.apiVersion),
  [ApiKey.TxnOffsetCommit]: (svc, body, ctx) => txnOffsetCommit(svc, body, ctx.apiVersion),
  [ApiKey.DescribeTransactions]: (svc, body) => describeTransactions(svc, body),
  [ApiKey.ListTransactions]: (svc, body) => listTransactions(svc, body),
  [ApiKey.DescribeProducers]: (svc, body) => describeProducers(svc, body),
  [ApiKey.DescribeCluster]: (svc, body, ctx) => describeCluster(svc, body, ctx.conn.security?.listener),
  [ApiKey.CreatePartitions]: (svc, body) => createPartitions(svc, body),
  [ApiKey.FindCoordinator]: (svc, body, ctx) => findCoordinator(svc, body, ctx.apiVersion, ctx.conn.security?.listener),
  [ApiKey.JoinGroup]: (svc, body, ctx) => joinGroup(svc, body, ctx),
  [ApiKey.SyncGroup]: (svc, body) => syncGroup(svc, body),
  [ApiKey.Heartbeat]: (svc, body) => heartbeat(svc, body),
  [ApiKey.LeaveGroup]: (svc, body, ctx) => leaveGroup(svc, body, ctx.apiVersion),
  [ApiKey.OffsetCommit]: (svc, body) => offsetCommit(svc, body),
  [ApiKey.OffsetFetch]: (svc, body, ctx) => offsetFetch(svc, body, ctx.apiVersion),
  [ApiKey.DescribeGroups]: (svc, body) => describeGroups(svc, body),
  [ApiKey.ListGroups]: (svc, body) => listGroups(svc, body),
  [ApiKey.DeleteGroups]: (svc, body) => deleteGroups(svc, body),
  [ApiKey.OffsetDelete]: (svc, body) => offsetDelete(svc, body),
  [ApiKey.DeleteRecords]: (svc, body) => deleteRecords(svc, body),
  [ApiKey.DescribeLogDirs]: (svc, body) => describeLogDirs(svc, body),
  [ApiKey.OffsetForLeaderEpoch]: (svc, body) => offsetForLeaderEpoch(svc, body),
  [ApiKey.AlterConfigs]: (svc, body) => alterConfigs(svc, body),
  [ApiKey.IncrementalAlterConfigs]: (svc, body) => incrementalAlterConfigs(svc, body),
  [ApiKey.ElectLeaders]: (svc, body, ctx) => electLeaders(svc, body, ctx.apiVersion),
  [ApiKey.AlterPartitionReassignments]: (svc, body) => alterPartitionReassignments(svc, body),
  [ApiKey.ListPartitionReassignments]: (svc, body) => listPartitionReassignments(svc, body),
  [ApiKey.SaslHandshake]: (_svc, body, ctx) => saslHandshake(body, ctx),
  [ApiKey.SaslAuthenticate]: (svc, body, ctx) => saslAuthenticate(svc, body, ctx),
  [ApiKey.DescribeUserScramCredentials]: (svc, body) => describeUserScramCredentials(svc, body),
  [ApiKey.AlterUserScramCredentials]: (svc, body, ctx) => alterUserScramCredentials(svc, body, ctx),
  [ApiKey.DescribeAcls]: (svc, body, ctx) => describeAcls(svc, body, ctx),
  [ApiKey.CreateAcls]: (svc, body, ctx) => createAcls(svc, body, ctx),
  [ApiKey.DeleteAcls]: (svc, body, ctx) => deleteAcls(svc, body, ctx),
};

const SASL_GATE_KEYS = { apiVersions: ApiKey.ApiVersions, saslHandshake: ApiKey.SaslHandshake, saslAuthenticate: ApiKey.SaslAuthenticate };

/** The version ranges of the APIs that have a handler. */
export function served(): Record<number, { min: number; max: number }> {
  const out: Record<number, { min: number; max: number }> = {};
  for (const key of Object.keys(HANDLERS)) out[Number(key)] = SUPPORTED_VERSIONS[Number(key)];
  return out;
}

export function createRequestRouter(svc: BrokerServices): RequestHandler {
  return async (frame, conn) => {
    if (conn.security?.sasl?.rawTokens) return rawSaslToken(svc, frame, { conn });
    const head = peekRequestHeader(frame);
    const name = API_NAMES[head.apiKey] ?? `api key ${head.apiKey}`;
    // SASL listeners: nothing but ApiVersions and SASL before authentication, nothing after the session expired.
    const refused = refusal(conn.security, head.apiKey, svc.clock.wall(), SASL_GATE_KEYS);
    if (refused) throw new CloseConnection(`${refused}: ${name} refused`, { ...head, principal: conn.security?.principal });
    const handler = HANDLERS[head.apiKey];
    const range = SUPPORTED_VERSIONS[head.apiKey];
    if (!handler || !range) throw new CloseConnection(`${name} is not served by Kastor`, { ...head });
    if (head.apiVersion < range.min || head.apiVersion > range.max) {
      if (head.apiKey === ApiKey.ApiVersions) {
        return encodeResponse(ApiKey.ApiVersions, 0, head.correlationId, apiVersionsResponse(served(), ErrorCode.UNSUPPORTED_VERSION));
      }
      throw new CloseConnection(`${name} v${head.apiVersion} is not supported (served: v${range.min}-v${range.max})`, { ...head });
    }
    let request: ReturnType<typeof decodeRequest>;
    try {
      request = decodeRequest(frame);
    } catch (err) {
      throw new CloseConnection(`malformed ${name} v${head.apiVersion} request: ${(err as Error).message}`, { ...head });
    }
    if (request.trailingBytes > 0) {
      svc.logger.debug(`ignored ${request.trailingBytes} bytes after the ${name} v${head.apiVersion} request body`, { ...head, clientId: request.header.clientId });
    }
    // Rate and latency per API (Kafka's RequestsPerSec and TotalTimeMs), one timer per request.
    const done = svc.metrics.startRequest(name);
    let failed = true;
    try {
      const ctx: RequestContext = { apiVersion: head.apiVersion, clientId: request.header.clientId, conn };
      // With an authorizer, the API's gate asks it first and hands the handler only what may be done.
      const gate = svc.authorizer && GATES[head.apiKey];
      const body = gate ? await gate(request.body, { ...ctx, svc, authz: svc.authorizer!, api: name }, (b) => Promise.resolve(handler(svc, b, ctx))) : await handler(svc, request.body, ctx);
      failed = false;
      if (body === null) return null;
      return encodeResponse(head.apiKey, head.apiVersion, head.correlationId, body as object);
    } finally {
      done(failed);
    }
  };
}
