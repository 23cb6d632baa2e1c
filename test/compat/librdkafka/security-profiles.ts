// The secured clusters some of librdkafka's tests need (0097 ssl_verify, 0126 oauthbearer_oidc, 0135
// sasl_credentials, 0142 reauthentication). Kafka's test clusters for them are started by trivup with `--ssl`/`--sasl`: a CA, a broker
// certificate, a client keystore in every encoding the tests load (PEM, DER, PKCS#12), SASL users, and the
// client settings in test.conf; the tests find the certificate files through trivup's SSL_* environment
// variables. Here each profile is a 3-broker Kastor cluster with a second listener (TestClusterOptions
// .secureListener) and the same test.conf keys and variables. Certificates are made at run time with the
// openssl CLI into the run's temporary directory and removed with it; no key is ever committed. The OAUTHBEARER
// profile's brokers trust the JWKS of the run's own identity provider (oidc-endpoint.ts, trivup's
// OauthbearerOIDCApp), whose token endpoint the clients use.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecureListenerOptions } from '../../../src/testing/index.ts';
import type { OidcEndpoint } from './oidc-endpoint.ts';

export type SecurityProfileName = 'sasl-ssl-scram' | 'sasl-plaintext-plain' | 'sasl-plaintext-oauthbearer' | 'plaintext-acl';

export interface SecurityProfile {
  /** PLAINTEXT: no second listener; the clients use the brokers' own (plaintext-acl). */
  protocol: SecureListenerOptions['protocol'] | 'PLAINTEXT';
  /** OAUTHBEARER: the brokers take only it, checking tokens against the run's OIDC endpoint's JWKS. */
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER' | null;
  /** More `kastor broker` flags for its brokers (an OAUTHBEARER profile also gets the OIDC endpoint's). */
  brokerArgs: string[];
}

/**
 * Session lifetime of the SASL_SSL profile's connections: 0142 reads it back with DescribeConfigs
 * (connections.max.reauth.ms) and produces and consumes for 1.2 times it so each client re-authenticates at
 * least once; 10 s, as librdkafka's own CI cluster, keeps its runs short.
 */
const REAUTH_MS = 10_000;

export const SECURITY_PROFILES: Record<SecurityProfileName, SecurityProfile> = {
  'sasl-ssl-scram': { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512', brokerArgs: ['--connections-max-reauth-ms', String(REAUTH_MS)] },
  'sasl-plaintext-plain': { protocol: 'SASL_PLAINTEXT', mechanism: 'PLAIN', brokerArgs: [] },
  'sasl-plaintext-oauthbearer': { protocol: 'SASL_PLAINTEXT', mechanism: 'OAUTHBEARER', brokerArgs: ['--sasl-enabled-mechanisms', 'OAUTHBEARER'] },
  // What trivup gives the clusters of the tests that set ACLs with kafka-acls.sh (0081, 0109, 0115, 0119):
  // Kafka's ACL authorizer, open to every client (ANONYMOUS on PLAINTEXT) until an ACL names a resource.
  'plaintext-acl': { protocol: 'PLAINTEXT', mechanism: null, brokerArgs: ['--authorizer', 'acl', '--allow-everyone-if-no-acl-found'] },
};

/** Whether a profile's clients need a listener of their own (SASL or TLS), not the brokers' PLAINTEXT one. */
export function needsSecureListener(profile: SecurityProfile): profile is SecurityProfile & { protocol: SecureListenerOptions['protocol'] } {
  return profile.protocol !== 'PLAINTEXT';
}

/** Whether a profile's listener speaks TLS, so the run needs certificates. */
export function needsCerts(profile: SecurityProfile): boolean {
  return profile.protocol !== 'PLAINTEXT' && profile.protocol !== 'SASL_PLAINTEXT';
}

const USER = 'librdkafka-suite';
/** Protects the client's private key and PKCS#12 keystore (trivup's SSL_password): the tests load both. */
const KEY_PASSWORD = 'kastor-suite-keystore';

export interface SuiteCerts {
  /** The broker's certificate (127.0.0.1 and localhost), key, and the CA that signed it and the client's. */
  brokerCert: string;
  brokerKey: string;
  ca: string;
  /** trivup's SSL_* variables, naming the client's certificate, key and CA in each encoding. */
  env: Record<string, string>;
  /** test.conf lines for a TLS client: the CA and the client's certificate and (encrypted) key. */
  confLines: string[];
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 60_000 }, (err, _stdout, stderr) =>
      err ? reject(new Error(`openssl ${args.join(' ')} failed: ${err.message}\n${stderr}`)) : resolve(),
    );
  });
}

/** A throwaway CA, a broker certificate and a client certificate in `dir` (made now, valid two days). */
export async function makeSuiteCerts(dir: string): Promise<SuiteCerts> {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const pass = `pass:${KEY_PASSWORD}`;
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=kastor-suite-ca', '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  const sign = async (name: string, subject: string, ext: string, keyArgs: string[]) => {
    await openssl(['req', '-newkey', 'rsa:2048', ...keyArgs, '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
  };
  await sign('broker', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost', ['-nodes']);
  await sign('client', '/CN=librdkafka-suite-client', 'extendedKeyUsage=clientAuth', ['-passout', pass]);
  await openssl(['x509', '-in', 'client.pem', '-outform', 'DER', '-out', 'client.der'], dir);
  await openssl(['pkey', '-in', 'client.key', '-passin', pass, '-outform', 'DER', '-out', 'client.key.der'], dir);
  await openssl(['x509', '-in', 'ca.pem', '-outform', 'DER', '-out', 'ca.der'], dir);
  await openssl(['pkcs12', '-export', '-in', 'client.pem', '-inkey', 'client.key', '-passin', pass, '-certfile', 'ca.pem', '-passout', pass, '-out', 'client.p12'], dir);
  return {
    brokerCert: f('broker.pem'),
    brokerKey: f('broker.key'),
    ca: f('ca.pem'),
    env: {
      SSL_password: KEY_PASSWORD,
      SSL_pkcs: f('client.p12'),
      SSL_pub_der: f('client.der'),
      SSL_pub_pem: f('client.pem'),
      SSL_priv_der: f('client.key.der'),
      SSL_priv_pem: f('client.key'),
      SSL_ca_der: f('ca.der'),
      SSL_all_cas_pem: f('ca.pem'),
      // The broker asks for no client certificate on its SASL_SSL listener, as Kafka's do unless
      // ssl.client.auth is set for that listener; 0097 then expects even an untrusted client key to connect.
      SSL_client_auth: 'none',
    },
    confLines: [`ssl.ca.location=${f('ca.pem')}`, `ssl.certificate.location=${f('client.pem')}`, `ssl.key.location=${f('client.key')}`, `ssl.key.password=${KEY_PASSWORD}`],
  };
}

/** Whether a profile's clients log in with tokens from the run's OIDC endpoint (startOidcEndpoint). */
export function needsOidc(profile: SecurityProfile): boolean {
  return profile.mechanism === 'OAUTHBEARER';
}

/** The secure listener a profile's brokers get, with the suite's one user (none for OAUTHBEARER: tokens name it). */
export function secureListenerFor(profile: SecurityProfile & { protocol: SecureListenerOptions['protocol'] }, certs: SuiteCerts | null, password: string): SecureListenerOptions {
  const tls = needsCerts(profile);
  if (tls && !certs) throw new Error(`a ${profile.protocol} listener needs certificates`);
  return {
    protocol: profile.protocol,
    ...(tls ? { certFile: certs!.brokerCert, keyFile: certs!.brokerKey, caFile: certs!.ca } : {}),
    ...(needsOidc(profile) ? {} : { users: { [USER]: password } }),
  };
}

/** test.conf's client settings for a profile (after metadata.broker.list), and the variables its tests read. */
export function clientSettingsFor(profile: SecurityProfile, certs: SuiteCerts | null, password: string, oidc: OidcEndpoint | null): { confLines: string[]; env: Record<string, string> } {
  if (!needsSecureListener(profile)) return { confLines: [], env: {} };
  const tls = needsCerts(profile);
  if (needsOidc(profile) && !oidc) throw new Error('an OAUTHBEARER profile needs the OIDC endpoint');
  const login = needsOidc(profile) ? oidc!.confLines : [`sasl.username=${USER}`, `sasl.password=${password}`];
  return {
    confLines: [`security.protocol=${profile.protocol}`, `sasl.mechanism=${profile.mechanism}`, ...login, ...(tls ? certs!.confLines : [])],
    env: { ...(tls ? certs!.env : {}), ...(needsOidc(profile) ? oidc!.env : {}) },
  };
}
