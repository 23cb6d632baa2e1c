// ApiVersions: the API keys and version ranges this broker has handlers for. An ApiVersions request
// of a version the broker does not know is answered in v0 with UNSUPPORTED_VERSION and the same list, so
// the client can retry with a version both sides speak (KIP-511); the request router does that part.
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { ApiVersionsResponse } from '../../protocol/generated/api-versions.ts';

export function apiVersionsResponse(served: Record<number, { min: number; max: number }>, errorCode: number = ErrorCode.NONE): ApiVersionsResponse {
  return {
    errorCode,
    apiKeys: Object.entries(served).map(([apiKey, v]) => ({ apiKey: Number(apiKey), minVersion: v.min, maxVersion: v.max })),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  } as ApiVersionsResponse;
}
