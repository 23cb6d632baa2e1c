// FindCoordinator: the group coordinator of key G (key type 0) is the leader of partition partitionFor(G) of
// __consumer_offsets, the transaction coordinator of transactional id T (key type 1) the leader of partition
// partitionFor(T) of __transaction_state; each topic is created on first use (Kafka auto-creates its internal
// topics the same way). v0-3 ask for one key, v4 (KIP-699) for a batch. COORDINATOR_NOT_AVAILABLE while the
// partition has no leader or this broker, its leader, is still loading it; clients retry.
import type { FindCoordinatorRequest, FindCoordinatorResponse, Coordinator } from '../../protocol/generated/find-coordinator.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { OFFSETS_TOPIC } from '../../group/offsets-topic.ts';
import { TXN_STATE_TOPIC } from '../../txn/txn-topic.ts';
import { endpointFor } from '../../security/listeners.ts';

const GROUP_KEY = 0;
const TRANSACTION_KEY = 1;
const LOAD_WAIT_MS = 5000;

async function findOne(svc: BrokerServices, key: string, keyType: number, listener: string | undefined): Promise<Coordinator> {
  const fail = (errorCode: number, errorMessage: string): Coordinator => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage });
  const coordinator = keyType === GROUP_KEY ? groupSide(svc) : keyType === TRANSACTION_KEY ? txnSide(svc) : null;
  if (!coordinator) return fail(ErrorCode.INVALID_REQUEST, `key type ${keyType} is not a coordinator type (0: group, 1: transaction)`);
  const { topic, shards } = coordinator;
  if (!shards) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `this broker runs no coordinator for key type ${keyType}`);
  if (!key) return fail(ErrorCode.INVALID_REQUEST, keyType === GROUP_KEY ? 'the group id is empty' : 'the transactional id is empty');
  if (!(await shards.ensureTopic())) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${topic} does not exist yet`);
  const partition = shards.partitionFor(key);
  const snapshot = svc.metadata.snapshot();
  const leader = snapshot.topics[topic]?.partitions[partition]?.leader ?? -1;
  const broker = snapshot.brokers[leader];
  if (!broker) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${topic}-${partition} has no live leader`);
  if (leader === svc.brokerId && !(await shards.waitLoaded(partition, LOAD_WAIT_MS))) {
    return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${topic}-${partition} is still loading`);
  }
  const at = endpointFor(broker, listener);
  if (!at) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `broker ${broker.id}, the coordinator, has no listener ${listener}`);
  return { key, nodeId: broker.id, host: at.host, port: at.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

interface CoordinatorSide {
  ensureTopic(): Promise<boolean>;
  partitionFor(key: string): number;
  waitLoaded(partition: number, timeoutMs: number): Promise<boolean>;
}

function groupSide(svc: BrokerServices): { topic: string; shards: CoordinatorSide | undefined } {
  const g = svc.groups;
  return { topic: OFFSETS_TOPIC, shards: g && { ensureTopic: () => g.ensureOffsetsTopic(), partitionFor: (k) => g.partitionFor(k), waitLoaded: (p, ms) => g.waitLoaded(p, ms) } };
}

function txnSide(svc: BrokerServices): { topic: string; shards: CoordinatorSide | undefined } {
  const t = svc.txn;
  return { topic: TXN_STATE_TOPIC, shards: t && { ensureTopic: () => t.shards.ensureTopic(), partitionFor: (k) => t.partitionFor(k), waitLoaded: (p, ms) => t.shards.waitLoaded(p, ms) } };
}

/** `listener`: the one the client came in on, whose address of the coordinator it is told. */
export async function findCoordinator(svc: BrokerServices, req: FindCoordinatorRequest, version: number, listener?: string): Promise<FindCoordinatorResponse> {
  const keyType = req.keyType ?? GROUP_KEY;
  if (version >= 4) {
    const coordinators = await Promise.all((req.coordinatorKeys ?? []).map((k) => findOne(svc, k, keyType, listener)));
    return { throttleTimeMs: 0, coordinators };
  }
  const c = await findOne(svc, req.key ?? '', keyType, listener);
  return { throttleTimeMs: 0, errorCode: c.errorCode, errorMessage: c.errorMessage, nodeId: c.nodeId, host: c.host, port: c.port };
}
