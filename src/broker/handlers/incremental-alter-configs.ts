// IncrementalAlterConfigs (KIP-339): SET, DELETE, APPEND and SUBTRACT on the configs of topics and brokers,
// each resource answered on its own; the rules live in metadata/config-alter.ts and broker/config-admin.ts.
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../../protocol/generated/incremental-alter-configs.ts';
import { applyIncremental } from '../../metadata/config-alter.ts';
import { alterConfigResources } from '../config-admin.ts';
import type { BrokerServices } from '../broker-services.ts';

export async function incrementalAlterConfigs(svc: BrokerServices, req: IncrementalAlterConfigsRequest): Promise<IncrementalAlterConfigsResponse> {
  const responses = await alterConfigResources(svc, req.resources, req.validateOnly, (r) => (kind, current) =>
    applyIncremental(kind, current, r.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value }))),
  );
  return { throttleTimeMs: 0, responses };
}
