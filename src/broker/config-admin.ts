// Changing configs at runtime (AlterConfigs, IncrementalAlterConfigs) for topics (resource type 2) and
// brokers (type 4: a broker id, or the empty name for the cluster-wide default), as Kafka's ConfigAdminManager:
// each resource gets its own error code and message, the others go ahead. The new set is computed from the
// latest stored value inside a compare-and-set (metadata-store updateTopic / updateBrokerConfigs), so a
// concurrent change is read again, never overwritten; validate_only computes and checks it without writing.
// The replicas pick a change up from the metadata watch (partition-registry.ts), as they pick up ISR changes.
import { ErrorCode } from '../protocol/generated/errors.ts';
import { ConfigRefused, type ConfigKind } from '../metadata/config-alter.ts';
import { TopicNotFoundError, UpdateConflictError } from '../metadata/errors.ts';
import type { BrokerServices } from './broker-services.ts';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

export interface ConfigResourceRef {
  resourceType: number;
  resourceName: string;
}

export interface ConfigResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

/** How a resource's new config set follows from its current one (throws ConfigRefused). */
export type ConfigChange = (kind: ConfigKind, current: Readonly<Record<string, string>>) => Record<string, string>;

/** Applies `change` to each resource (or only checks it, validateOnly); resources named twice are refused. */
export async function alterConfigResources<R extends ConfigResourceRef>(
  svc: BrokerServices,
  resources: R[],
  validateOnly: boolean,
  changeOf: (resource: R) => ConfigChange,
): Promise<ConfigResult[]> {
  const count = new Map<string, number>();
  const id = (r: ConfigResourceRef) => `${r.resourceType}:${r.resourceName}`;
  for (const r of resources) count.set(id(r), (count.get(id(r)) ?? 0) + 1);
  return Promise.all(
    resources.map(async (r) => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      const fail = (errorCode: number, errorMessage: string) => ({ ...base, errorCode, errorMessage });
      if ((count.get(id(r)) ?? 0) > 1) return fail(ErrorCode.INVALID_REQUEST, `Error due to duplicate resource ${r.resourceName} in one request`);
      try {
        await alterOne(svc, r, validateOnly, changeOf(r));
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null };
      } catch (err) {
        if (err instanceof ConfigRefused) return fail(err.errorCode, err.message);
        if (err instanceof TopicNotFoundError) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${r.resourceName}' does not exist.`);
        if (err instanceof UpdateConflictError) return fail(ErrorCode.UNKNOWN_SERVER_ERROR, `the configs of ${r.resourceName} kept changing; nothing was changed, try again`);
        svc.logger.error('altering configs failed', { resourceType: r.resourceType, resourceName: r.resourceName, error: err as Error });
        return fail(ErrorCode.UNKNOWN_SERVER_ERROR, `altering the configs of ${r.resourceName} failed: ${(err as Error).message}`);
      }
    }),
  );
}

async function alterOne(svc: BrokerServices, r: ConfigResourceRef, validateOnly: boolean, change: ConfigChange): Promise<void> {
  if (r.resourceType === RESOURCE_TOPIC) {
    const known = svc.metadata.snapshot().topics[r.resourceName];
    if (!known) throw new TopicNotFoundError(r.resourceName);
    if (validateOnly) return void change('topic', known.config);
    const topic = await svc.metadata.updateTopic(r.resourceName, (draft) => {
      const next = change('topic', draft.config);
      if (JSON.stringify(next) !== JSON.stringify(draft.config)) draft.config = next;
    });
    svc.logger.info('altered topic configs', { topic: r.resourceName, configs: topic.config });
    return;
  }
  if (r.resourceType === RESOURCE_BROKER) {
    const scope = r.resourceName;
    if (scope !== '' && !/^\d+$/.test(scope)) throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${scope}`);
    const key = scope === '' ? '' : String(Number(scope));
    const kind = key === '' ? 'broker-default' : 'broker';
    if (validateOnly) return void change(kind, svc.metadata.snapshot().brokerConfigs?.[key] ?? {});
    const configs = await svc.metadata.updateBrokerConfigs(key, (current) => change(kind, current));
    svc.logger.info('altered broker configs', { broker: key === '' ? 'cluster default' : key, configs });
    return;
  }
  throw new ConfigRefused(ErrorCode.INVALID_REQUEST, `resource type ${r.resourceType} is not supported (2 = topic, 4 = broker)`);
}
