// Loads Apache Kafka's message specs (clients/src/main/resources/common/message/*.json) into a typed model.
//
// The files are JSON with `//` comments; comments are stripped by a scanner that knows about string
// literals (an `about` text may contain "http://"). Version ranges ("3+", "0-12", "5", "none") become
// closed intervals with Infinity as the open end. Used by the generator and by the round-trip tests,
// which build random messages from the spec rather than from the generated code they check.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface VersionRange {
  min: number;
  max: number; // Infinity for "N+"
}

export interface FieldSpec {
  name: string;
  type: string;
  versions: VersionRange | null;
  nullableVersions: VersionRange | null;
  taggedVersions: VersionRange | null;
  tag: number | undefined;
  /** Field-level override of the message's flexible versions (only "none" occurs: RequestHeader.ClientId). */
  flexibleVersions: VersionRange | null | undefined;
  default: string | undefined;
  ignorable: boolean;
  about: string | undefined;
  fields: FieldSpec[] | undefined;
}

export interface StructSpec {
  name: string;
  versions: VersionRange | null;
  fields: FieldSpec[];
}

export interface MessageSpec {
  name: string;
  apiKey: number | undefined;
  type: 'request' | 'response' | 'header' | string;
  validVersions: VersionRange;
  flexibleVersions: VersionRange | null;
  fields: FieldSpec[];
  commonStructs: StructSpec[];
}

/** Removes `//` comments outside string literals. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

export function parseRange(text: string | undefined): VersionRange | null {
  if (text === undefined || text === 'none' || text === '') return null;
  const plus = /^(\d+)\+$/.exec(text);
  if (plus) return { min: Number(plus[1]), max: Infinity };
  const span = /^(\d+)-(\d+)$/.exec(text);
  if (span) return { min: Number(span[1]), max: Number(span[2]) };
  if (/^\d+$/.test(text)) return { min: Number(text), max: Number(text) };
  throw new Error(`bad version range ${JSON.stringify(text)}`);
}

export function inRange(r: VersionRange | null | undefined, v: number): boolean {
  return !!r && v >= r.min && v <= r.max;
}

export function intersect(a: VersionRange | null, b: VersionRange | null): VersionRange | null {
  if (!a || !b) return null;
  const min = Math.max(a.min, b.min);
  const max = Math.min(a.max, b.max);
  return min <= max ? { min, max } : null;
}

function parseField(raw: any): FieldSpec {
  return {
    name: raw.name,
    type: raw.type,
    versions: parseRange(raw.versions),
    nullableVersions: parseRange(raw.nullableVersions),
    taggedVersions: parseRange(raw.taggedVersions),
    tag: raw.tag,
    flexibleVersions: raw.flexibleVersions === undefined ? undefined : parseRange(raw.flexibleVersions),
    default: raw.default === undefined ? undefined : String(raw.default),
    ignorable: raw.ignorable === true,
    about: raw.about,
    fields: raw.fields?.map(parseField),
  };
}

export function parseMessage(text: string): MessageSpec {
  const raw = JSON.parse(stripComments(text));
  return {
    name: raw.name,
    apiKey: raw.apiKey,
    type: raw.type,
    validVersions: parseRange(raw.validVersions)!,
    flexibleVersions: parseRange(raw.flexibleVersions),
    fields: (raw.fields ?? []).map(parseField),
    commonStructs: (raw.commonStructs ?? []).map((s: any) => ({
      name: s.name,
      versions: parseRange(s.versions),
      fields: s.fields.map(parseField),
    })),
  };
}

/** Every message spec in `<protocolDir>/messages`, by name (e.g. "ProduceRequest"). */
export function loadMessages(protocolDir: string): Map<string, MessageSpec> {
  const dir = join(protocolDir, 'messages');
  const out = new Map<string, MessageSpec>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.json')) continue;
    const spec = parseMessage(readFileSync(join(dir, file), 'utf8'));
    out.set(spec.name, spec);
  }
  return out;
}

export interface ErrorSpec {
  code: number;
  name: string;
  retriable: boolean;
  message: string;
}

/** `<protocolDir>/errors.tsv`: code, name, retriable, message. */
export function loadErrors(protocolDir: string): ErrorSpec[] {
  const lines = readFileSync(join(protocolDir, 'errors.tsv'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.slice(1).map((line) => {
    const [code, name, retriable, message] = line.split('\t');
    return { code: Number(code), name: name!, retriable: retriable === 'true', message: message ?? '' };
  });
}

/** Primitive field types and the TypeScript type each maps to. */
export const PRIMITIVES: Record<string, string> = {
  bool: 'boolean',
  int8: 'number',
  int16: 'number',
  uint16: 'number',
  int32: 'number',
  uint32: 'number',
  int64: 'bigint',
  float64: 'number',
  string: 'string',
  uuid: 'string',
  bytes: 'Buffer',
  records: 'Buffer',
};

/** `TopicData` → `topicData`. */
export function fieldName(specName: string): string {
  return specName[0]!.toLowerCase() + specName.slice(1);
}

/** The element type of `[]X`, or undefined when the type is not an array. */
export function arrayElement(type: string): string | undefined {
  return type.startsWith('[]') ? type.slice(2) : undefined;
}
