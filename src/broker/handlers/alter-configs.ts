// AlterConfigs: replaces the whole config set of each topic or broker resource (a key left out returns to its
// default, as Kafka's legacy API does), each resource answered on its own; the rules live in
// metadata/config-alter.ts and broker/config-admin.ts.
import type { AlterConfigsRequest, AlterConfigsResponse } from '../../protocol/generated/alter-configs.ts';
import { replaceAll } from '../../metadata/config-alter.ts';
import { alterConfigResources } from '../config-admin.ts';
import type { BrokerServices } from '../broker-services.ts';

export async function alterConfigs(svc: BrokerServices, req: AlterConfigsRequest): Promise<AlterConfigsResponse> {
  const responses = await alterConfigResources(svc, req.resources, req.validateOnly, (r) => (kind) => replaceAll(kind, r.configs));
  return { throttleTimeMs: 0, responses };
}
