// Kafka's listener model: a broker serves several named listeners, each bound to its own address with its own
// security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) and advertised under its own address. A client is
// told the addresses of the listener it came in on (Kafka's Metadata, FindCoordinator and DescribeCluster answer
// the endpoints registered under the request's listener name), so an internal PLAINTEXT listener on loopback and
// an external SASL_SSL one each hand out addresses their own clients can reach.
//
// The configuration is Kafka's: `listeners=NAME://host:port,...`, `advertised.listeners=NAME://host:port,...`
// (matched by name; a listener without one advertises its bind address), and
// `listener.security.protocol.map=NAME:PROTOCOL,...` (a name that is itself a protocol maps to it by default).
import type { BrokerInfo } from '../metadata/types.ts';

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

/** The listener a plain `--listen HOST:PORT` stands for, and the one a registration without endpoints has. */
export const DEFAULT_LISTENER = 'PLAINTEXT';

export interface ListenerSpec {
  name: string;
  securityProtocol: SecurityProtocol;
  /** The bind address. */
  host: string;
  port: number;
  /** What clients that came in on this listener are told. */
  advertisedHost: string;
  advertisedPort: number;
}

/** One registered endpoint of a broker, as BrokerInfo.endpoints carries it (Kafka's BrokerRegistration endpoints). */
export interface BrokerEndpoint {
  listener: string;
  securityProtocol: SecurityProtocol;
  host: string;
  port: number;
}

export const usesTls = (p: SecurityProtocol): boolean => p === 'SSL' || p === 'SASL_SSL';
export const usesSasl = (p: SecurityProtocol): boolean => p === 'SASL_PLAINTEXT' || p === 'SASL_SSL';

/** A wildcard bind address is advertised as loopback unless an advertised address is given. */
export function advertisableHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
}

interface Address {
  name: string;
  host: string;
  port: number;
}

/** Parses `NAME://host:port,...` (Kafka's listeners form); throws an Error with a one-line message. */
export function parseListenerList(value: string, key: string): Address[] {
  const out: Address[] = [];
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:/]*):(\d+)$/.exec(item);
    if (!m) throw new Error(`${key}: expected NAME://HOST:PORT, got "${item}"`);
    const port = Number(m[3]);
    if (port > 65535) throw new Error(`${key}: port ${port} is out of range in "${item}"`);
    const name = m[1]!.toUpperCase();
    if (out.some((a) => a.name === name)) throw new Error(`${key}: listener ${name} is given twice`);
    out.push({ name, host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  if (out.length === 0) throw new Error(`${key}: no listener in "${value}"`);
  return out;
}

/** Parses `NAME:PROTOCOL,...` (listener.security.protocol.map). */
export function parseProtocolMap(value: string, key: string): Map<string, SecurityProtocol> {
  const out = new Map<string, SecurityProtocol>();
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, protocol, extra] = item.split(':');
    const p = protocol?.toUpperCase() as SecurityProtocol;
    if (!name || extra !== undefined || !SECURITY_PROTOCOLS.includes(p)) {
      throw new Error(`${key}: expected NAME:PROTOCOL with PROTOCOL one of ${SECURITY_PROTOCOLS.join(', ')}, got "${item}"`);
    }
    out.set(name.toUpperCase(), p);
  }
  return out;
}

/** The listeners of `listeners`, `advertised.listeners` and `listener.security.protocol.map` together. */
export function resolveListeners(listeners: string, advertised: string | undefined, protocolMap: string | undefined): ListenerSpec[] {
  const binds = parseListenerList(listeners, 'listeners');
  const ads = advertised ? parseListenerList(advertised, 'advertised.listeners') : [];
  const map = protocolMap ? parseProtocolMap(protocolMap, 'listener.security.protocol.map') : new Map<string, SecurityProtocol>();
  for (const a of ads) {
    if (!binds.some((b) => b.name === a.name)) throw new Error(`advertised.listeners: ${a.name} is not one of the listeners (${binds.map((b) => b.name).join(', ')})`);
    if (a.host === '' || a.host === '0.0.0.0' || a.host === '::') throw new Error(`advertised.listeners: ${a.name} needs a host clients can reach, got "${a.host}"`);
  }
  return binds.map((b) => {
    const protocol = map.get(b.name) ?? (SECURITY_PROTOCOLS.includes(b.name as SecurityProtocol) ? (b.name as SecurityProtocol) : undefined);
    if (!protocol) throw new Error(`listener.security.protocol.map: no security protocol for listener ${b.name}`);
    const ad = ads.find((a) => a.name === b.name);
    const host = b.host === '' ? '0.0.0.0' : b.host;
    return { name: b.name, securityProtocol: protocol, host, port: b.port, advertisedHost: ad?.host ?? advertisableHost(host), advertisedPort: ad?.port ?? b.port };
  });
}

/**
 * The address of `broker` on `listener`, as Kafka answers a client that came in on that listener; null when the
 * broker has no such listener (Kafka leaves such brokers out of the answer). A registration written before
 * endpoints existed has only its PLAINTEXT host:port.
 */
export function endpointFor(broker: BrokerInfo, listener: string | undefined): { host: string; port: number } | null {
  const name = listener ?? DEFAULT_LISTENER;
  if (!broker.endpoints || broker.endpoints.length === 0) return name === DEFAULT_LISTENER ? { host: broker.host, port: broker.port } : null;
  const e = broker.endpoints.find((x) => x.listener === name);
  return e ? { host: e.host, port: e.port } : null;
}
