// The TLS material of a broker's SSL and SASL_SSL listeners, read from PEM files (Kafka's PEM keystore and
// truststore: the certificate chain, its private key, the CA certificates client certificates must chain to),
// and read again while the broker runs: every listener's secure context is replaced when one of the files
// changes (polled once a second, so an atomic rename is seen too) or when the process gets SIGHUP. A reload
// that fails (a half-written file, a key that does not match) keeps the previous certificates and logs why;
// connections already open keep the session they negotiated, new ones get the new certificate.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from '../../util/logger.ts';
import type { TlsSettings } from '../../broker/broker-config.ts';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/** The secure-context options of `settings`; throws an Error with a one-line message naming the file. */
export function readTlsFiles(settings: TlsSettings): SecureContextOptions {
  const read = (file: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`${what} ${file}: cannot read it (${(err as { code?: string }).code ?? (err as Error).message})`);
    }
  };
  const blocks = (text: string) => [...text.matchAll(BLOCK)].map((m) => ({ label: m[1]!, pem: m[0] }));
  const certText = read(settings.certFile, 'ssl certificate');
  const certs = blocks(certText).filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) throw new Error(`ssl certificate ${settings.certFile}: no PEM CERTIFICATE in it`);
  const keyText = settings.keyFile === settings.certFile ? certText : read(settings.keyFile, 'ssl key');
  const key = blocks(keyText).find((b) => b.label.endsWith('PRIVATE KEY'));
  if (!key) throw new Error(`ssl key ${settings.keyFile}: no unencrypted PEM PRIVATE KEY in it`);
  const options: SecureContextOptions = { cert: certs.map((b) => b.pem).join('\n'), key: key.pem };
  if (settings.caFile) {
    const cas = blocks(read(settings.caFile, 'ssl CA')).filter((b) => b.label === 'CERTIFICATE');
    if (cas.length === 0) throw new Error(`ssl CA ${settings.caFile}: no PEM CERTIFICATE in it`);
    options.ca = cas.map((b) => b.pem);
  }
  try {
    createSecureContext(options); // a key that does not match the certificate fails here, at start, not per client
  } catch (err) {
    throw new Error(`ssl certificate ${settings.certFile} and key ${settings.keyFile}: ${(err as Error).message}`);
  }
  return options;
}

/** Calls `apply` with freshly read options whenever the files change or SIGHUP comes; returns the stopper. */
export function watchTlsFiles(settings: TlsSettings, logger: Logger, apply: (options: SecureContextOptions) => void): () => void {
  const files = [...new Set([settings.certFile, settings.keyFile, settings.caFile].filter((f): f is string => !!f))];
  const reload = (why: string) => {
    try {
      apply(readTlsFiles(settings));
      logger.info('TLS certificates reloaded', { why, files });
    } catch (err) {
      logger.error('TLS certificates not reloaded; the previous ones stay', { why, error: (err as Error).message });
    }
  };
  const onChange = (curr: { mtimeMs: number }, prev: { mtimeMs: number }) => {
    if (curr.mtimeMs !== prev.mtimeMs) reload('file changed');
  };
  for (const f of files) watchFile(f, { interval: 1000, persistent: false }, onChange);
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  return () => {
    for (const f of files) unwatchFile(f, onChange);
    process.off('SIGHUP', onHup);
  };
}

/**
 * Kafka's default principal of a TLS client (DefaultKafkaPrincipalBuilder): User:<the certificate's subject as
 * X500Principal.getName() gives it> — RFC 2253, the most specific attribute first (`CN=alice,OU=eng,O=Acme`).
 * Node lists the subject's attributes one a line in certificate order, which is the reverse.
 */
export function principalOfSubject(subject: string): string {
  const rdns = subject.split('\n').filter(Boolean).reverse().map((line) => {
    const eq = line.indexOf('=');
    const value = line.slice(eq + 1).replace(/([,+"\\<>;])/g, '\\$1');
    return `${line.slice(0, eq)}=${value}`;
  });
  return `User:${rdns.join(',')}`;
}
