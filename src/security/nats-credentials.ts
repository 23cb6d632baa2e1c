// How a broker (or a tool) logs in to NATS: a credentials file (`user=` and `password=` lines, or `token=`),
// an nkey seed file, and TLS to NATS (the CA to check the server with, optionally a client certificate).
// Secrets live in files (mode 0600), never on a command line where `ps` shows them.
//
// Pure: the file's text is parsed here; runtime/node/nats-connection.ts reads the files.

export interface NatsClientSecurity {
  /** A file of `user=NAME` and `password=SECRET` lines, or one `token=SECRET` line. */
  credentialsFile: string | null;
  /** A file holding an nkey user seed (`SU...`), as `nk -gen user` writes it. */
  nkeyFile: string | null;
  /** TLS to NATS: the CA the server's certificate must chain to, and a client certificate when the server asks. */
  tls: { caFile: string; certFile: string | null; keyFile: string | null } | null;
}

export const NO_NATS_SECURITY: NatsClientSecurity = { credentialsFile: null, nkeyFile: null, tls: null };

export type NatsLogin = { user: string; password: string } | { token: string };

/** A credentials file's text → the login it holds; a bad file is an error naming the file. */
export function parseNatsCredentials(text: string, source: string): NatsLogin {
  const values: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!['user', 'password', 'token'].includes(key)) throw new Error(`${source} line ${i + 1}: expected user=, password= or token=, got "${key || line.slice(0, 20)}"`);
    values[key] = line.slice(eq + 1).trim();
  }
  if (values.token !== undefined) {
    if (values.user !== undefined || values.password !== undefined) throw new Error(`${source}: give either token= or user= and password=, not both`);
    if (values.token === '') throw new Error(`${source}: token= is empty`);
    return { token: values.token };
  }
  if (!values.user || !values.password) throw new Error(`${source}: needs user= and password= (or token=)`);
  return { user: values.user, password: values.password };
}

/** The text of a credentials file for `user` (what `kastor dev` and `kastor nats-config` write). */
export function formatNatsCredentials(login: { user: string; password: string }): string {
  return `# Kastor's NATS login (kastor broker --nats-credentials); keep this file private (chmod 600)\nuser=${login.user}\npassword=${login.password}\n`;
}
