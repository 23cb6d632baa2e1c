// Generates Kastor's Kafka wire-protocol codecs from Apache Kafka's message specs.
//
// Usage: tsx scripts/generate-protocol.ts <path-to-kafka-protocol-folder> [output-dir]
// The folder holds messages/*.json and errors.tsv (Kafka 3.9.0). The output (src/protocol/generated/ by
// default) is committed; running the generator twice gives identical files, which a test checks.
// The only hand-written data here is SERVED: which APIs and versions Kastor serves.
import { mkdirSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageEmitter, planMessage, showRange } from './protocol-gen/emit-message.ts';
import { HEADER_LINE, emitApiKeys, emitErrors, emitIndex, type ServedApi } from './protocol-gen/emit-tables.ts';
import { loadErrors, loadMessages, type MessageSpec } from './protocol-gen/spec.ts';

/** The APIs Kastor serves and the versions it advertises (Produce 0-2 and Fetch 0-3 in message formats v0/v1, converted). */
export const SERVED: Array<[name: string, min: number, max: number]> = [
  ['ApiVersions', 0, 3],
  ['Metadata', 0, 12],
  ['Produce', 0, 9],
  ['Fetch', 0, 13],
  ['ListOffsets', 0, 7],
  ['CreateTopics', 0, 7],
  ['DeleteTopics', 0, 6],
  ['DescribeConfigs', 0, 4],
  ['InitProducerId', 0, 4],
  ['DescribeCluster', 0, 1],
  ['CreatePartitions', 0, 3],
  // Admin APIs of issue 18: each is advertised once its handler is in the router (ApiVersions lists only those).
  ['AlterConfigs', 0, 2],
  ['IncrementalAlterConfigs', 0, 1],
  ['DeleteRecords', 0, 2],
  ['DescribeLogDirs', 0, 4],
  ['OffsetForLeaderEpoch', 0, 4],
  ['ElectLeaders', 0, 2],
  ['AlterPartitionReassignments', 0, 0],
  ['ListPartitionReassignments', 0, 0],
  // Authentication (issue 19): SASL on SASL_PLAINTEXT and SASL_SSL listeners, SCRAM credentials in the metadata.
  ['SaslHandshake', 0, 1],
  ['SaslAuthenticate', 0, 2],
  ['DescribeUserScramCredentials', 0, 0],
  ['AlterUserScramCredentials', 0, 0],
  // Authorization (issue 19): Kafka's ACLs, kept in the cluster metadata.
  ['DescribeAcls', 0, 3],
  ['CreateAcls', 0, 3],
  ['DeleteAcls', 0, 3],
  // Group APIs, served once the group coordinator lands.
  ['FindCoordinator', 0, 4],
  ['JoinGroup', 0, 9],
  ['SyncGroup', 0, 5],
  ['Heartbeat', 0, 4],
  ['LeaveGroup', 0, 5],
  ['OffsetCommit', 2, 8],
  ['OffsetFetch', 1, 8],
  ['DescribeGroups', 0, 5],
  ['ListGroups', 0, 5],
  ['DeleteGroups', 0, 2],
  ['OffsetDelete', 0, 0],
  // Transactions (issue 17, KIP-98 with KIP-890 part 1 on the broker side). Clients' versions only: v4 of
  // AddPartitionsToTxn is the brokers' batched verify form, and v4 of the others adds TRANSACTION_ABORTABLE.
  ['AddPartitionsToTxn', 0, 3],
  ['AddOffsetsToTxn', 0, 3],
  ['EndTxn', 0, 3],
  ['TxnOffsetCommit', 0, 3],
  // Transactions' operator APIs (KIP-664): what the coordinators and partition leaders hold.
  ['DescribeTransactions', 0, 0],
  ['ListTransactions', 0, 1],
  ['DescribeProducers', 0, 0],
];

export function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function imports(emitters: MessageEmitter[], code: string): string[] {
  const support = new Set<string>();
  for (const e of emitters) for (const s of e.usesSupport) support.add(s);
  if (code.includes('_unknownTaggedFields')) support.add('TaggedField');
  const lines = ["import type { Reader } from '../reader.ts';"];
  lines.push(code.includes('Writer.encode') ? "import { Writer } from '../writer.ts';" : "import type { Writer } from '../writer.ts';");
  const values = [...support].filter((s) => s !== 'TaggedField').sort();
  if (support.has('TaggedField')) lines.push("import type { TaggedField } from '../codec-support.ts';");
  if (values.length) lines.push(`import { ${values.join(', ')} } from '../codec-support.ts';`);
  return lines;
}

/** Generates request + response of one API (or one header) into a module's source text. */
function emitModule(title: string, messages: Array<{ spec: MessageSpec; encode: string; decode: string }>, min: number, max: number, taken: Set<string>): string {
  const emitters = messages.map((m) => new MessageEmitter(planMessage(m.spec, { min, max })));
  // Request and response may each define a struct of the same name, or one an earlier module exports (the
  // index re-exports every module): prefix it with its message name. Earlier modules keep their names.
  const seen = new Map<string, number>();
  for (const e of emitters) for (const n of e.rawStructNames()) seen.set(n, (seen.get(n) ?? 0) + 1);
  emitters.forEach((e, i) => {
    for (const n of e.rawStructNames()) {
      const renamed = seen.get(n)! > 1 || messages.some((m) => m.spec.name === n) || taken.has(n);
      if (renamed) e.setRename(n, `${messages[i]!.spec.name}${n}`);
      taken.add(renamed ? `${messages[i]!.spec.name}${n}` : n);
    }
  });
  const code = emitters.map((e, i) => e.emit(messages[i]!)).join('\n');
  return [HEADER_LINE, '//', `// ${title}, versions ${showRange({ min, max })}.`, ...imports(emitters, code), '', code].join('\n');
}

export function generate(protocolDir: string, outDir: string): string[] {
  const messages = loadMessages(protocolDir);
  const get = (name: string) => {
    const m = messages.get(name);
    if (!m) throw new Error(`spec ${name} not found in ${protocolDir}/messages`);
    return m;
  };
  const files = new Map<string, string>();
  const taken = new Set<string>();
  const served: ServedApi[] = SERVED.map(([name, min, max]) => ({ name, apiKey: get(`${name}Request`).apiKey!, versions: { min, max }, file: kebab(name) }));
  for (const s of served) {
    const msgs = (['Request', 'Response'] as const).map((kind) => ({
      spec: get(`${s.name}${kind}`),
      encode: `encode${s.name}${kind}`,
      decode: `decode${s.name}${kind}`,
    }));
    files.set(`${s.file}.ts`, emitModule(`${s.name} (API key ${s.apiKey}) request and response`, msgs, s.versions.min, s.versions.max, taken));
  }
  for (const h of ['RequestHeader', 'ResponseHeader']) {
    const spec = get(h);
    files.set(`${kebab(h)}.ts`, emitModule(`${h}`, [{ spec, encode: `encode${h}`, decode: `decode${h}` }], spec.validVersions.min, spec.validVersions.max, taken));
  }
  const requests = [...messages.values()].filter((m) => m.type === 'request');
  files.set('api-keys.ts', emitApiKeys(requests, served));
  files.set('errors.ts', emitErrors(loadErrors(protocolDir)));
  files.set('index.ts', emitIndex(served));

  mkdirSync(outDir, { recursive: true });
  // Files from an earlier run that are no longer generated must not linger.
  for (const old of readdirSync(outDir)) if (old.endsWith('.ts') && !files.has(old)) rmSync(join(outDir, old));
  for (const [name, text] of files) writeFileSync(join(outDir, name), text.endsWith('\n') ? text : `${text}\n`);
  return [...files.keys()].sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [protocolDir, outArg] = process.argv.slice(2);
  if (!protocolDir || !existsSync(join(protocolDir, 'messages'))) {
    console.error('usage: tsx scripts/generate-protocol.ts <path-to-kafka-protocol-folder> [output-dir]');
    process.exit(2);
  }
  const outDir = outArg ?? fileURLToPath(new URL('../src/protocol/generated/', import.meta.url));
  const written = generate(protocolDir, outDir);
  console.log(`wrote ${written.length} files to ${outDir}`);
}
