// FindCoordinator: the group coordinator of key G is the leader of partition partitionFor(G) of
// __consumer_offsets, created on first use (Kafka auto-creates its internal topic the same way). v0-3 ask
// for one key, v4 (KIP-699) for a batch. COORDINATOR_NOT_AVAILABLE while the partition has no leader or this
// broker, its leader, is still loading it; clients retry. Only group keys (key type 0) are served.
import type { FindCoordinatorRequest, FindCoordinatorResponse, Coordinator } from '../../protocol/generated/find-coordinator.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { OFFSETS_TOPIC } from '../../group/offsets-topic.ts';
import { endpointFor } from '../../security/listeners.ts';

const GROUP_KEY = 0;
const LOAD_WAIT_MS = 5000;

async function findOne(svc: BrokerServices, key: string, keyType: number, listener: string | undefined): Promise<Coordinator> {
  const fail = (errorCode: number, errorMessage: string): Coordinator => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage });
  const groups = svc.groups;
  if (keyType !== GROUP_KEY) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `key type ${keyType} is not served: Kastor has group coordinators only`);
  if (!groups) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'this broker runs no group coordinator');
  if (!key) return fail(ErrorCode.INVALID_REQUEST, 'the group id is empty');
  if (!(await groups.ensureOffsetsTopic())) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC} does not exist yet`);
  const partition = groups.partitionFor(key);
  const snapshot = svc.metadata.snapshot();
  const leader = snapshot.topics[OFFSETS_TOPIC]?.partitions[partition]?.leader ?? -1;
  const broker = snapshot.brokers[leader];
  if (!broker) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC}-${partition} has no live leader`);
  if (leader === svc.brokerId && !(await groups.waitLoaded(partition, LOAD_WAIT_MS))) {
    return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC}-${partition} is still loading`);
  }
  const at = endpointFor(broker, listener);
  if (!at) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, `broker ${broker.id}, the coordinator, has no listener ${listener}`);
  return { key, nodeId: broker.id, host: at.host, port: at.port, errorCode: ErrorCode.NONE, errorMessage: null };
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
