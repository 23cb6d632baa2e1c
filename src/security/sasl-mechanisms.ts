// The SASL mechanisms Kastor serves (sasl.enabled.mechanisms; OAUTHBEARER also needs a JWKS, oauthbearer.ts) and Kafka's numbering of the SCRAM ones
// (org.apache.kafka.clients.admin.ScramMechanism: 1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512), which
// DescribeUserScramCredentials and AlterUserScramCredentials carry.
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
export type ScramMechanism = Exclude<SaslMechanism, 'PLAIN' | 'OAUTHBEARER'>;
/** The mechanisms Kastor's own client speaks (it fetches no OAuth tokens). */
export type ClientSaslMechanism = Exclude<SaslMechanism, 'OAUTHBEARER'>;
export const CLIENT_SASL_MECHANISMS: readonly ClientSaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** The digest a SCRAM mechanism is built on (RFC 7677 for SHA-256; SHA-512 as Kafka adds it). */
export type ScramHash = 'sha256' | 'sha512';
export const hashOf = (m: ScramMechanism): ScramHash => (m === 'SCRAM-SHA-256' ? 'sha256' : 'sha512');

export const scramMechanismOfId = (id: number): ScramMechanism | null => (id === 1 ? 'SCRAM-SHA-256' : id === 2 ? 'SCRAM-SHA-512' : null);
export const idOfScramMechanism = (m: ScramMechanism): number => (m === 'SCRAM-SHA-256' ? 1 : 2);

/** Kafka's bounds on SCRAM iterations (ScramMechanism.minIterations / maxIterations). */
export const MIN_SCRAM_ITERATIONS = 4096;
export const MAX_SCRAM_ITERATIONS = 16384;

export function parseSaslMechanisms(value: string): SaslMechanism[] {
  const out: SaslMechanism[] = [];
  for (const item of value.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)) {
    if (!SASL_MECHANISMS.includes(item as SaslMechanism)) throw new Error(`sasl.enabled.mechanisms: "${item}" is not served (served: ${SASL_MECHANISMS.join(', ')})`);
    if (!out.includes(item as SaslMechanism)) out.push(item as SaslMechanism);
  }
  if (out.length === 0) throw new Error('sasl.enabled.mechanisms: needs at least one mechanism');
  return out;
}
