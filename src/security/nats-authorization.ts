// The NATS side of Kastor's security: the `authorization` block of a nats-server config that closes the
// internal bus. Brokers log in as their own NATS users (a password or an nkey) and may publish and subscribe
// only on what a broker uses: the cluster's subjects (replication, control, liveness: subjects.ts), the
// JetStream API of the metadata bucket's stream and the bucket's own subjects, and `_INBOX.>` (replies and
// Kastor's pipelined inboxes). With an `authorization` block and no `no_auth_user`, nats-server refuses a
// client without credentials at connect; other users (applications sharing the server) get only the subjects
// named for them, so none of them can answer a replica fetch, write the metadata bucket or read records off
// the bus.
//
// Pure: text in, text out. The CLI (`kastor nats-config`), `kastor dev` and the test nats-server use it.
import { subjectPrefix } from '../transport/subjects.ts';

/** A NATS user: a name and password, or an nkey (its public key, `U...`; the client holds the seed). */
export type NatsUser = { user: string; password: string } | { nkey: string };

/** Another client of the same nats-server (not a broker), allowed only these subjects. */
export type NatsOtherUser = NatsUser & { publish: string[]; subscribe: string[] };

export interface NatsAuthorizationOptions {
  /** The metadata bucket (its name also makes the cluster's subject prefix). */
  bucket: string;
  /** The brokers' logins (one shared, or one per broker). */
  brokers: NatsUser[];
  others?: NatsOtherUser[];
}

/** What a broker may publish and subscribe to: the cluster's subjects, its metadata bucket, inboxes. */
export function brokerPermissions(bucket: string): { publish: string[]; subscribe: string[] } {
  const stream = `KV_${bucket}`;
  const bus = `${subjectPrefix(bucket)}.>`;
  const kv = `$KV.${bucket}.>`;
  const jsApi = [
    // jetstreamManager's API check, then the bucket's stream: create/info/update, message get, consumers of watches.
    '$JS.API.INFO',
    `$JS.API.STREAM.*.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.*.${stream}`,
    `$JS.API.CONSUMER.*.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
    // Ordered consumers (watches) answer the server's flow control.
    `$JS.FC.${stream}.>`,
    `$JS.ACK.${stream}.>`,
  ];
  return { publish: [bus, kv, ...jsApi, '_INBOX.>'], subscribe: [bus, kv, '_INBOX.>'] };
}

const NAME = /^[A-Za-z0-9_.@-]+$/;

function quote(s: string): string {
  return JSON.stringify(s);
}

function login(u: NatsUser): string {
  if ('nkey' in u) {
    if (!/^U[A-Z2-7]{55}$/.test(u.nkey)) throw new Error(`not an nkey user public key (U..., 56 characters): "${u.nkey}"`);
    return `nkey: ${u.nkey}`;
  }
  if (!NAME.test(u.user)) throw new Error(`NATS user names here are letters, digits and _.@-, got "${u.user}"`);
  if (u.password.length === 0) throw new Error(`the password of NATS user ${u.user} is empty`);
  return `user: ${quote(u.user)}, password: ${quote(u.password)}`;
}

function permissions(p: { publish: string[]; subscribe: string[] }, indent: string): string {
  const list = (xs: string[]) => (xs.length === 0 ? '[]' : `[${xs.map(quote).join(', ')}]`);
  return [`permissions: {`, `${indent}  publish: { allow: ${list(p.publish)} }`, `${indent}  subscribe: { allow: ${list(p.subscribe)} }`, `${indent}}`].join('\n');
}

/** The `authorization { users: [...] }` block; anonymous clients are refused (there is no no_auth_user). */
export function natsAuthorizationConfig(opts: NatsAuthorizationOptions): string {
  if (opts.brokers.length === 0) throw new Error('at least one broker login is needed');
  const broker = brokerPermissions(opts.bucket);
  const users = [
    ...opts.brokers.map((u) => `    { ${login(u)},\n      ${permissions(broker, '      ')} }`),
    ...(opts.others ?? []).map((u) => `    { ${login(u)},\n      ${permissions(u, '      ')} }`),
  ];
  return [
    `# Kastor's brokers, and only they, use the cluster's subjects (${subjectPrefix(opts.bucket)}.>) and its`,
    `# metadata bucket (${opts.bucket}); a client without credentials is refused (no no_auth_user).`,
    `authorization {`,
    `  users: [`,
    users.join(',\n'),
    `  ]`,
    `}`,
  ].join('\n');
}
