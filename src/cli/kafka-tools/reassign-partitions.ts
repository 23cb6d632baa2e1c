// kafka-reassign-partitions.sh, as Kafka 3.9's ReassignPartitionsCommand, for its actions that move data:
// --execute starts the reassignments of a --reassignment-json-file (Kafka's JSON; log_dirs ignored), printing
// the current assignment to save for a rollback first, and refuses while any of them is already ongoing unless
// --additional; --verify says per partition whether its reassignment is complete; --cancel reverts the ongoing
// ones of the file to their original replicas; --list shows every ongoing one. --generate is refused: `kastor
// cluster rebalance --dry-run` proposes a plan. Throttles do not exist in Kastor: --throttle is refused,
// --preserve-throttles accepted and moot. Kastor's Admin alter/listPartitionReassignments.
import { Kafka } from '../../client/index.ts';
import type { Admin } from '../../client/admin.ts';
import { ERRORS } from '../../protocol/generated/errors.ts';
import { UsageError } from '../args.ts';
import { parsePlan, type PlanEntry } from '../reassignment-plan.ts';
import { checkCommon, readOptionFile, connectionOptions, helpOrVersion, kafkaMessage, oneAction, onlyWith, parseOptions, ToolError, type OptionSpecs } from './options.ts';

const SPECS: OptionSpecs = {
  'reassignment-json-file': { value: 'manual assignment json file path', description: 'the partitions and their new replicas: {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}' },
  execute: { description: 'start the reassignments of --reassignment-json-file' },
  verify: { description: 'say whether the reassignments of --reassignment-json-file are complete' },
  cancel: { description: 'cancel the ongoing reassignments of --reassignment-json-file (back to the original replicas)' },
  list: { description: 'list every ongoing reassignment' },
  generate: { description: 'refused: kastor cluster rebalance --dry-run proposes a plan' },
  additional: { description: 'with --execute: start even though some of the partitions are being reassigned' },
  'preserve-throttles': { description: 'accepted: Kastor has no replication throttles' },
  throttle: { value: 'throttle', description: 'refused: Kastor has no replication throttles' },
  timeout: { value: 'timeout', description: 'ms to wait for the controller to take the request (default 10000)' },
};
const ACTIONS = ['execute', 'verify', 'cancel', 'list', 'generate'];

const tp = (p: { topic: string; partition: number }) => `${p.topic}-${p.partition}`;
const errorText = (r: { errorCode: number; errorMessage: string | null }) => `${ERRORS[r.errorCode]?.name ?? r.errorCode}${r.errorMessage ? `: ${r.errorMessage}` : ''}`;

function readPlan(file: string | undefined): PlanEntry[] {
  if (file === undefined) throw new ToolError('Missing required argument "[reassignment-json-file]"');
  const text = readOptionFile('reassignment-json-file', file);
  try {
    return parsePlan(text, file);
  } catch (err) {
    throw err instanceof UsageError ? new ToolError(err.message) : err;
  }
}

/** The partitions' current assignment in Kafka's JSON, as --execute prints it for a rollback. */
async function currentAssignment(admin: Admin, plan: PlanEntry[]): Promise<string> {
  const topics = await admin.describeTopics([...new Set(plan.map((p) => p.topic))], { configs: false });
  const partitions = plan.flatMap((e) => {
    const p = topics.find((t) => t.name === e.topic)?.partitions.find((q) => q.partition === e.partition);
    return p ? [{ topic: e.topic, partition: e.partition, replicas: p.replicas, log_dirs: p.replicas.map(() => 'any') }] : [];
  });
  return JSON.stringify({ version: 1, partitions });
}

async function execute(admin: Admin, plan: PlanEntry[], additional: boolean, timeoutMs: number): Promise<number> {
  const ongoing = await admin.listPartitionReassignments(plan.map((p) => ({ topic: p.topic, partition: p.partition })));
  if (ongoing.length > 0 && !additional) {
    throw new ToolError('Cannot execute because there is an existing partition assignment. Use --additional to override this and create a new partition assignment in addition to the existing one.');
  }
  console.log(`Current partition replica assignment\n\n${await currentAssignment(admin, plan)}\n\nSave this to use as the --reassignment-json-file option during rollback`);
  const results = await admin.alterPartitionReassignments(plan, { timeoutMs });
  const failed = results.filter((r) => r.errorCode !== 0);
  const started = results.filter((r) => r.errorCode === 0);
  if (started.length > 0) console.log(`Successfully started partition reassignment${started.length === 1 ? '' : 's'} for ${started.map(tp).join(',')}`);
  if (failed.length === 0) return 0;
  console.error(`Error reassigning partition(s):\n${failed.map((r) => `${tp(r)}: ${errorText(r)}`).join('\n')}`);
  return 1;
}

async function verify(admin: Admin, plan: PlanEntry[]): Promise<number> {
  const ongoing = new Set((await admin.listPartitionReassignments(plan.map((p) => ({ topic: p.topic, partition: p.partition })))).map(tp));
  const topics = await admin.describeTopics([...new Set(plan.map((p) => p.topic))], { configs: false });
  console.log('Status of partition reassignment:');
  let pending = false;
  for (const e of plan) {
    const now = topics.find((t) => t.name === e.topic)?.partitions.find((q) => q.partition === e.partition)?.replicas ?? [];
    if (ongoing.has(tp(e))) {
      pending = true;
      console.log(`Reassignment of partition ${tp(e)} is still in progress.`);
    } else if (now.join() === e.replicas.join()) console.log(`Reassignment of partition ${tp(e)} is completed.`);
    else console.log(`There is no active reassignment of partition ${tp(e)}, but replica set is ${now.join(',')} rather than ${e.replicas.join(',')}.`);
  }
  return pending ? 1 : 0;
}

async function cancel(admin: Admin, plan: PlanEntry[], timeoutMs: number): Promise<number> {
  const results = await admin.alterPartitionReassignments(plan.map((p) => ({ topic: p.topic, partition: p.partition, replicas: null })), { timeoutMs });
  const cancelled = results.filter((r) => r.errorCode === 0);
  const failed = results.filter((r) => r.errorCode !== 0 && r.errorCode !== 85 /* NO_REASSIGNMENT_IN_PROGRESS */);
  console.log(cancelled.length > 0 ? `Successfully cancelled partition reassignment${cancelled.length === 1 ? '' : 's'} for ${cancelled.map(tp).join(',')}` : 'None of the specified partition reassignments are active.');
  if (failed.length === 0) return 0;
  console.error(`Error cancelling partition reassignment(s):\n${failed.map((r) => `${tp(r)}: ${errorText(r)}`).join('\n')}`);
  return 1;
}

async function list(admin: Admin): Promise<number> {
  const ongoing = await admin.listPartitionReassignments();
  if (ongoing.length === 0) console.log('No partition reassignments found.');
  else {
    console.log('Current partition reassignments:');
    for (const r of ongoing) console.log(`${tp(r)}: replicas: ${r.replicas.join(',')}. adding: ${r.addingReplicas.join(',')}. removing: ${r.removingReplicas.join(',')}.`);
  }
  return 0;
}

export async function kafkaReassignPartitions(argv: string[]): Promise<number> {
  let admin: Admin | undefined;
  try {
    const opts = parseOptions(SPECS, argv);
    const early = helpOrVersion(argv, opts, 'kafka-reassign-partitions.sh', 'move partitions to other replicas.', SPECS);
    if (early !== null) return early;
    checkCommon(opts);
    if (!opts.has('bootstrap-server')) throw new ToolError('Please specify --bootstrap-server');
    const action = oneAction(opts, ACTIONS);
    onlyWith(opts, action, { 'reassignment-json-file': ['execute', 'verify', 'cancel'], additional: ['execute'], throttle: ['execute'] });
    if (action === 'generate') throw new ToolError('--generate is not supported by Kastor: `kastor cluster rebalance --dry-run` proposes a reassignment that evens out replicas and leaders');
    if (opts.has('throttle')) throw new ToolError('--throttle is not supported: Kastor has no replication throttles');
    const timeoutMs = opts.has('timeout') ? Number(opts.value('timeout')) : 10_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ToolError(`--timeout must be a positive number of milliseconds, got '${opts.value('timeout')}'`);
    const plan = action === 'list' ? [] : readPlan(opts.value('reassignment-json-file'));
    admin = new Kafka(connectionOptions(opts, 'kafka-reassign-partitions')).admin();
    if (action === 'execute') return await execute(admin, plan, opts.has('additional'), timeoutMs);
    if (action === 'verify') return await verify(admin, plan);
    if (action === 'cancel') return await cancel(admin, plan, timeoutMs);
    return await list(admin);
  } catch (err) {
    console.error(err instanceof ToolError ? err.message : `Error: ${kafkaMessage(err)}`);
    return 1;
  } finally {
    await admin?.close();
  }
}
