// Where the compatibility suite finds Confluent's JavaScript client, @confluentinc/kafka-javascript (librdkafka
// bindings). It is not a devDependency: its install script downloads a prebuilt binary from GitHub, and built
// from source it takes minutes, which every `npm ci` would pay. scripts/build-confluent-kafka-javascript.ts
// builds this exact version from the librdkafka sources inside the npm package, with nothing downloaded but npm
// packages, into a cache directory outside the repository; CI runs it before `npm test`, and the test fails
// (it does not skip) when the build is missing.
//
// The test reaches the package through createRequire, so TypeScript cannot see its types; the few shapes the
// test uses are declared here, after the package's own types/kafkajs.d.ts.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const CONFLUENT_KAFKA_JAVASCRIPT_VERSION = '1.10.1';
/** node-gyp 13 needs Node 22; 12.4 is the one npm 11 bundles. */
export const NODE_GYP_VERSION = '12.4.0';

/** `$KASTOR_CACHE_DIR` (default /var/cache/kastor)/confluent-kafka-javascript/<version>: an npm prefix. */
export function confluentCacheDir(version = CONFLUENT_KAFKA_JAVASCRIPT_VERSION): string {
  return join(process.env.KASTOR_CACHE_DIR ?? '/var/cache/kastor', 'confluent-kafka-javascript', version);
}

export function confluentPackageDir(prefix = confluentCacheDir()): string {
  return join(prefix, 'node_modules', '@confluentinc', 'kafka-javascript');
}

export function confluentAddonPath(prefix = confluentCacheDir()): string {
  return join(confluentPackageDir(prefix), 'build', 'Release', 'confluent-kafka-javascript.node');
}

export class ConfluentClientMissingError extends Error {
  readonly code = 'CONFLUENT_CLIENT_MISSING';
  constructor(readonly dir: string, cause?: unknown) {
    super(
      `@confluentinc/kafka-javascript ${CONFLUENT_KAFKA_JAVASCRIPT_VERSION} is not built in ${dir}: ` +
        `run \`npx tsx scripts/build-confluent-kafka-javascript.ts\` (about 4-8 minutes; .ci/run does it before npm test)`,
      { cause },
    );
  }
}

export interface ConfluentHeaders {
  [key: string]: Buffer | string | (Buffer | string)[] | undefined;
}
export interface ConfluentMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  headers?: ConfluentHeaders;
}
export interface ConfluentRecordMetadata {
  topicName: string;
  partition: number;
  errorCode: number;
  offset?: string;
  baseOffset?: string;
}
export interface ConfluentProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: Array<{ key?: string | Buffer | null; value: string | Buffer | null; partition?: number; headers?: ConfluentHeaders }> }): Promise<ConfluentRecordMetadata[]>;
  flush(args?: { timeout?: number }): Promise<void>;
}
export interface ConfluentConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(subscription: { topics: string[] }): Promise<void>;
  run(config: { eachMessage: (payload: { topic: string; partition: number; message: ConfluentMessage }) => Promise<void> }): Promise<void>;
  commitOffsets(offsets: Array<{ topic: string; partition: number; offset: string }>): Promise<void>;
  assignment(): Array<{ topic: string; partition: number }>;
}
export interface ConfluentAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  fetchOffsets(options: { groupId: string; topics?: string[] }): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}
/** Top-level keys are librdkafka properties; `kafkaJS` holds the KafkaJS-style ones. */
type Config = Record<string, unknown> & { kafkaJS?: Record<string, unknown> };
export interface ConfluentKafkaJavascript {
  librdkafkaVersion: string;
  features: string[];
  KafkaJS: {
    Kafka: new (config: Config) => {
      producer(config?: Config): ConfluentProducer;
      consumer(config: Config): ConfluentConsumer;
      admin(config?: Config): ConfluentAdmin;
    };
    logLevel: { NOTHING: number; ERROR: number; WARN: number; INFO: number; DEBUG: number };
  };
}

/** Loads the cached build; throws ConfluentClientMissingError when it is not there or does not load. */
export function loadConfluentKafkaJavascript(prefix = confluentCacheDir()): { lib: ConfluentKafkaJavascript; version: string; dir: string } {
  const pkgDir = confluentPackageDir(prefix);
  if (!existsSync(confluentAddonPath(prefix))) throw new ConfluentClientMissingError(prefix);
  const require = createRequire(join(prefix, 'package.json'));
  try {
    const version = (require(join(pkgDir, 'package.json')) as { version: string }).version;
    if (version !== CONFLUENT_KAFKA_JAVASCRIPT_VERSION) throw new Error(`found version ${version}`);
    return { lib: require(pkgDir) as ConfluentKafkaJavascript, version, dir: pkgDir };
  } catch (err) {
    throw new ConfluentClientMissingError(prefix, err);
  }
}
