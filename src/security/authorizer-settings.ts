// The broker's authorizer settings from Kafka's keys: authorizer.class.name (Kafka's StandardAuthorizer or
// AclAuthorizer class names, or Kastor's short `acl`; empty or `none`: no authorizer), super.users (principals
// separated by semicolons, User:admin;User:ops) and allow.everyone.if.no.acl.found (false unless set).
import type { AuthorizerSettings } from './acl-authorizer.ts';

const ACL_AUTHORIZERS = ['acl', 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'kafka.security.authorizer.AclAuthorizer', 'kafka.security.auth.SimpleAclAuthorizer'];

/** null: no authorizer. Throws an Error naming the key for a value Kastor does not take. */
export function authorizerSettings(className: string | undefined, superUsers: string | undefined, allowEveryoneIfNoAclFound: boolean): AuthorizerSettings | null {
  const name = (className ?? '').trim();
  if (name === '' || name === 'none') return null;
  if (!ACL_AUTHORIZERS.includes(name)) throw new Error(`authorizer: expected acl (or ${ACL_AUTHORIZERS.slice(1).join(', ')}), got "${name}"`);
  const users = (superUsers ?? '').split(';').map((s) => s.trim()).filter(Boolean);
  for (const u of users) if (!/^[^:]+:.+$/.test(u)) throw new Error(`super-users: "${u}" is not a principal (User:NAME)`);
  return { superUsers: users, allowEveryoneIfNoAclFound };
}
