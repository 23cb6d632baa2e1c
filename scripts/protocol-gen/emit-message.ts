// Emits the TypeScript for one message (a request, response or header) at a range of versions.
//
// Each struct becomes an interface, a reader and a writer. Every field is described once, with the version
// conditions under which it is on the wire (`if (v >= 3) ...`), never as a copied block per version.
// Conditions are relative to the versions the struct can occur in, so a field present in all of them has none.
import {
  PRIMITIVES,
  arrayElement,
  fieldName,
  intersect,
  type FieldSpec,
  type MessageSpec,
  type VersionRange,
} from './spec.ts';

/** A struct to emit, with the versions it can occur in. */
interface StructPlan {
  typeName: string;
  specName: string;
  fields: FieldSpec[];
  range: VersionRange;
  about: string | undefined;
  needsDefault: boolean;
}

interface MessagePlan {
  spec: MessageSpec;
  range: VersionRange;
  structs: StructPlan[]; // the message itself first
  rename: Map<string, string>; // spec struct name -> TypeScript name
}

/** Collects the structs a message uses at the served versions. */
export function planMessage(spec: MessageSpec, served: VersionRange): MessagePlan {
  const range = intersect(spec.validVersions, served);
  if (!range) throw new Error(`${spec.name} has no versions in ${served.min}-${served.max}`);
  const structs: StructPlan[] = [
    { typeName: spec.name, specName: spec.name, fields: spec.fields, range, about: undefined, needsDefault: false },
  ];
  const byName = new Map<string, StructPlan>();
  const common = new Map(spec.commonStructs.map((s) => [s.name, s]));
  const visit = (fields: FieldSpec[], parent: VersionRange) => {
    for (const f of fields) {
      const present = intersect(f.versions, parent);
      if (!present) continue;
      const elem = arrayElement(f.type) ?? f.type;
      if (PRIMITIVES[elem]) continue;
      const def = f.fields ? { fields: f.fields } : common.get(elem);
      if (!def) throw new Error(`${spec.name}.${f.name}: unknown type ${f.type}`);
      let plan = byName.get(elem);
      if (plan) {
        plan.range = { min: Math.min(plan.range.min, present.min), max: Math.max(plan.range.max, present.max) };
      } else {
        plan = { typeName: elem, specName: elem, fields: def.fields, range: present, about: f.about, needsDefault: false };
        byName.set(elem, plan);
        structs.push(plan);
      }
      if (!arrayElement(f.type)) plan.needsDefault = true;
      visit(def.fields, present);
    }
  };
  visit(spec.fields, range);
  return { spec, range, structs, rename: new Map() };
}

/** Versions as the comments show them. */
export function showRange(r: VersionRange): string {
  if (r.max === Infinity) return `${r.min}+`;
  return r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`;
}

/** A condition on `v` that holds exactly for `r` within `within` ('true' / 'false' when constant). */
function cond(r: VersionRange | null, within: VersionRange): string {
  const i = intersect(r, within);
  if (!i) return 'false';
  const parts: string[] = [];
  if (i.min > within.min) parts.push(`v >= ${i.min}`);
  if (i.max < within.max) parts.push(`v <= ${i.max}`);
  return parts.length === 0 ? 'true' : parts.join(' && ');
}

function not(c: string): string {
  if (c === 'true') return 'false';
  if (c === 'false') return 'true';
  return c.includes('&&') ? `!(${c})` : c.replace(/v >= (\d+)/, (_, n) => `v < ${n}`).replace(/v <= (\d+)/, (_, n) => `v > ${n}`);
}

/** Everything the emitter needs to know about one field inside one struct. */
interface FieldPlan {
  f: FieldSpec;
  prop: string;
  present: VersionRange;
  regular: VersionRange | null; // versions where it is a normal (positional) field
  tagged: VersionRange | null; // versions where it is a tagged field
  optional: boolean;
  nullable: VersionRange | null;
}

function planField(f: FieldSpec, within: VersionRange, flexible: VersionRange | null): FieldPlan | null {
  const present = intersect(f.versions, within);
  if (!present) return null;
  const tagged = f.tag === undefined ? null : intersect(intersect(f.taggedVersions, present), flexible);
  let regular: VersionRange | null = present;
  if (tagged) regular = tagged.min > present.min ? { min: present.min, max: tagged.min - 1 } : null;
  const optional = tagged !== null || present.min > within.min || present.max < within.max;
  return { f, prop: fieldName(f.name), present, regular, tagged, optional, nullable: intersect(f.nullableVersions, present) };
}

export class MessageEmitter {
  private readonly lines: string[] = [];
  readonly usesSupport = new Set<string>();

  constructor(private readonly plan: MessagePlan) {}

  private typeOf(name: string): string {
    return this.plan.rename.get(name) ?? name;
  }

  private tsType(fp: FieldPlan): string {
    const elem = arrayElement(fp.f.type);
    const base = elem ? `${PRIMITIVES[elem] ?? this.typeOf(elem)}[]` : (PRIMITIVES[fp.f.type] ?? this.typeOf(fp.f.type));
    return fp.nullable ? `${base} | null` : base;
  }

  /** The value a decoder fills in when the version lacks the field (Kafka's MessageData defaults). */
  private defaultExpr(f: FieldSpec): string {
    const d = f.default;
    const elem = arrayElement(f.type);
    if (elem) return d === 'null' ? 'null' : '[]';
    switch (f.type) {
      case 'bool':
        return d === 'true' ? 'true' : 'false';
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'uint32':
      case 'float64':
        return String(d === undefined ? 0 : Number(d));
      case 'int64':
        return `${d === undefined ? 0n : BigInt(d)}n`;
      case 'string':
        return d === 'null' ? 'null' : JSON.stringify(d ?? '');
      case 'uuid':
        this.usesSupport.add('ZERO_UUID');
        return 'ZERO_UUID';
      case 'bytes':
        return d === 'null' ? 'null' : 'Buffer.alloc(0)';
      case 'records':
        return f.nullableVersions ? 'null' : 'Buffer.alloc(0)';
      default:
        return d === 'null' ? 'null' : `default${this.typeOf(f.type)}()`;
    }
  }

  /** An expression that is true when `x` differs from the field's default. */
  private nonDefault(f: FieldSpec, x: string): string {
    const d = this.defaultExpr(f);
    if (d === 'null' || d === 'true' || d === 'false' || d === 'ZERO_UUID' || /^-?\d/.test(d) || d.startsWith('"')) {
      return `${x} !== ${d}`;
    }
    this.usesSupport.add('sameValue');
    return `!sameValue(${x}, ${d})`;
  }

  private compactExpr(f: FieldSpec, within: VersionRange): string {
    if (f.flexibleVersions !== undefined) return cond(intersect(f.flexibleVersions, this.plan.spec.flexibleVersions), within);
    const flex = cond(this.plan.spec.flexibleVersions, within);
    return flex === 'true' || flex === 'false' ? flex : 'flex';
  }

  /** Reads the field; `at` is the versions this read runs at (nullability is only tested inside them). */
  private readExpr(fp: FieldPlan, r: string, within: VersionRange, at: VersionRange): string {
    const f = fp.f;
    const c = this.compactExpr(f, within);
    const nullable = cond(fp.nullable, at);
    const pick = (nullableForm: string, plainForm: string) =>
      nullable === 'true' ? nullableForm : nullable === 'false' ? plainForm : `${nullable} ? ${nullableForm} : ${plainForm}`;
    const elem = arrayElement(f.type);
    if (elem) {
      const readElem = PRIMITIVES[elem]
        ? `(r) => ${this.primitiveRead(elem, 'r', c)}`
        : `(r) => read${this.typeOf(elem)}(r, v)`;
      return pick(`${r}.nullableArray(${c}, ${readElem})`, `${r}.array(${c}, ${readElem})`);
    }
    if (PRIMITIVES[f.type]) {
      if (f.type === 'string' || f.type === 'bytes' || f.type === 'records') {
        const method = f.type === 'string' ? 'String' : 'Bytes';
        return pick(`${r}.nullable${method}(${c})`, `${r}.${method.toLowerCase()}(${c})`);
      }
      return this.primitiveRead(f.type, r, c);
    }
    const read = `read${this.typeOf(f.type)}(${r}, v)`;
    return pick(`(${r}.int8() < 0 ? null : ${read})`, read);
  }

  private primitiveRead(type: string, r: string, c: string): string {
    if (type === 'string') return `${r}.string(${c})`;
    if (type === 'bytes' || type === 'records') return `${r}.bytes(${c})`;
    return `${r}.${type}()`;
  }

  private primitiveWrite(type: string, w: string, x: string, c: string): string {
    if (type === 'string') return `${w}.string(${x}, ${c})`;
    if (type === 'bytes' || type === 'records') return `${w}.bytes(${x}, ${c})`;
    return `${w}.${type}(${x})`;
  }

  private writeStmt(fp: FieldPlan, w: string, x: string, within: VersionRange, at: VersionRange): string {
    const f = fp.f;
    const c = this.compactExpr(f, within);
    const nullable = cond(fp.nullable, at);
    // The type allows null but this version does not: the writer refuses null at run time.
    const bang = fp.nullable ? '!' : '';
    const pick = (nullableForm: string, plainForm: string) =>
      nullable === 'true' ? nullableForm : nullable === 'false' ? plainForm : `if (${nullable}) ${nullableForm};\n    else ${plainForm}`;
    const elem = arrayElement(f.type);
    if (elem) {
      const t = PRIMITIVES[elem] ? PRIMITIVES[elem] : this.typeOf(elem);
      const writeElem = PRIMITIVES[elem]
        ? `(w, e: ${t}) => ${this.primitiveWrite(elem, 'w', 'e', c)}`
        : `(w, e: ${t}) => write${t}(w, v, e)`;
      return pick(`${w}.nullableArray(${x}, ${c}, ${writeElem})`, `${w}.array(${x}${bang}, ${c}, ${writeElem})`);
    }
    if (f.type === 'string' || f.type === 'bytes' || f.type === 'records') {
      const method = f.type === 'string' ? 'String' : 'Bytes';
      return pick(`${w}.nullable${method}(${x}, ${c})`, `${w}.${method.toLowerCase()}(${x}${bang}, ${c})`);
    }
    if (PRIMITIVES[f.type]) return this.primitiveWrite(f.type, w, x, c);
    const write = `write${this.typeOf(f.type)}(${w}, v, ${x}${bang})`;
    return pick(`if (${x} === null) ${w}.int8(-1);\n    else {\n      ${w}.int8(1);\n      ${write};\n    }`, write);
  }

  private fieldComment(fp: FieldPlan): string {
    const notes: string[] = [`Versions ${showRange(fp.present)}`];
    if (fp.nullable) notes.push(`nullable ${showRange(fp.nullable)}`);
    if (fp.tagged) notes.push(`tagged (tag ${fp.f.tag}) ${showRange(fp.tagged)}`);
    if (fp.f.default !== undefined) notes.push(`default ${fp.f.default}`);
    if (fp.f.ignorable) notes.push('ignorable');
    const text = fp.f.about?.trim() ?? '';
    const about = text === '' ? '' : /[.!?]$/.test(text) ? `${text} ` : `${text}. `;
    return `  /** ${about}${notes.join('; ')}. */`.replace(/\*\//g, (m, i, s) => (i === s.length - 2 ? m : '* /'));
  }

  private emitStruct(s: StructPlan, top: { encode: string; decode: string } | null): void {
    const out = this.lines;
    const flexible = intersect(this.plan.spec.flexibleVersions, s.range);
    const fields = s.fields.map((f) => planField(f, s.range, flexible)).filter((fp): fp is FieldPlan => fp !== null);
    const hasFlex = flexible !== null;
    const flexCond = cond(flexible, s.range);
    const tName = this.typeOf(s.specName);

    // The type.
    const about = s.about?.trim() ?? tName;
    const doc = top ? `${this.plan.spec.name}, versions ${showRange(s.range)}.` : `${about}${/[.!?]$/.test(about) ? '' : '.'} Versions ${showRange(s.range)}.`;
    out.push(`/** ${doc} */`, `export interface ${tName} {`);
    for (const fp of fields) {
      out.push(this.fieldComment(fp), `  ${fp.prop}${fp.optional ? '?' : ''}: ${this.tsType(fp)};`);
    }
    if (hasFlex) out.push('  /** Tagged fields this version does not know, kept so that re-encoding is byte-identical. */');
    if (hasFlex) out.push('  _unknownTaggedFields?: TaggedField[];');
    out.push('}', '');

    // The default value, for struct-typed fields a version lacks.
    if (s.needsDefault) {
      out.push(`export function default${tName}(): ${tName} {`, '  return {');
      for (const fp of fields) out.push(`    ${fp.prop}: ${this.defaultExpr(fp.f)},`);
      out.push('  };', '}', '');
    }

    const usesFlexVar = (code: string) => /\bflex\b/.test(code);

    // The reader.
    const readName = top ? top.decode : `read${tName}`;
    const body: string[] = [];
    body.push(`  const m: ${tName} = {`);
    for (const fp of fields) {
      const regular = cond(fp.regular, s.range);
      const value = regular === 'false' ? this.defaultExpr(fp.f) : this.readExpr(fp, 'r', s.range, fp.regular!);
      body.push(`    ${fp.prop}: ${regular === 'true' || regular === 'false' ? value : `${regular} ? ${value} : ${this.defaultExpr(fp.f)}`},`);
    }
    body.push('  };');
    if (hasFlex) {
      const taggedFields = fields.filter((fp) => fp.tagged);
      body.push(`  if (${flexCond === 'true' ? 'true' : 'flex'}) {`);
      if (taggedFields.length === 0) {
        body.push('    const unknown = r.taggedFields(() => false);');
      } else {
        body.push('    const unknown = r.taggedFields((tag, t) => {', '      switch (tag) {');
        for (const fp of taggedFields) {
          const tc = cond(fp.tagged, s.range);
          body.push(`        case ${fp.f.tag}:`);
          if (tc !== 'true') body.push(`          if (${not(tc)}) return false;`);
          body.push(`          m.${fp.prop} = ${this.readExpr(fp, 't', s.range, fp.tagged!)};`, '          return true;');
        }
        body.push('        default:', '          return false;', '      }', '    });');
      }
      body.push('    if (unknown) m._unknownTaggedFields = unknown;', '  }');
    }
    body.push('  return m;');
    const readFlex = hasFlex && flexCond !== 'true' && body.some(usesFlexVar);
    const usesV = body.some((l) => /\bv\b/.test(l));
    out.push(`${top ? 'export ' : ''}function ${readName}(r: Reader, ${usesV || readFlex ? '' : '_'}v: number): ${tName} {`);
    if (readFlex) out.push(`  const flex = ${flexCond};`);
    out.push(...body, '}', '');

    // The writer.
    const writeName = top ? top.encode : `write${tName}`;
    const wbody: string[] = [];
    for (const fp of fields) {
      // `??` would turn an explicit null into the default, so nullable fields test for undefined only.
      const d = this.defaultExpr(fp.f);
      const x = !fp.optional ? `m.${fp.prop}` : fp.nullable ? `m.${fp.prop} === undefined ? ${d} : m.${fp.prop}` : `m.${fp.prop} ?? ${d}`;
      const regular = cond(fp.regular, s.range);
      if (regular === 'true') wbody.push(`  ${this.writeStmt(fp, 'w', x, s.range, fp.regular!)};`);
      else if (regular !== 'false') wbody.push(`  if (${regular}) {`, `    ${this.writeStmt(fp, 'w', x, s.range, fp.regular!)};`, '  }');
      const absent = not(cond(fp.present, s.range));
      if (absent !== 'false' && !fp.f.ignorable) {
        this.usesSupport.add('unrepresentable');
        wbody.push(
          `  if (w.strict && ${absent} && m.${fp.prop} !== undefined && ${this.nonDefault(fp.f, `m.${fp.prop}`)}) {`,
          `    throw unrepresentable('${tName}.${fp.prop}', v);`,
          '  }',
        );
      }
    }
    if (hasFlex) {
      const taggedFields = fields.filter((fp) => fp.tagged);
      wbody.push(`  if (${flexCond === 'true' ? 'true' : 'flex'}) {`);
      if (taggedFields.length === 0) {
        wbody.push('    w.taggedFields(undefined, m._unknownTaggedFields);');
      } else {
        this.usesSupport.add('TaggedField');
        wbody.push('    const tagged: TaggedField[] = [];');
        for (const fp of taggedFields) {
          const tc = cond(fp.tagged, s.range);
          const x = `m.${fp.prop}`;
          const guard = [tc === 'true' ? '' : tc, `${x} !== undefined`, this.nonDefault(fp.f, x)].filter(Boolean).join(' && ');
          const stmt = this.writeStmt(fp, 't', 'value', s.range, fp.tagged!).replace(/\n/g, '\n      ');
          wbody.push(
            `    if (${guard}) {`,
            `      const value = ${x};`,
            `      tagged.push({ tag: ${fp.f.tag}, data: Writer.encode((t) => { ${stmt}; }) });`,
            '    }',
          );
        }
        wbody.push('    w.taggedFields(tagged, m._unknownTaggedFields);');
      }
      wbody.push('  }');
    }
    const writeFlex = hasFlex && flexCond !== 'true' && wbody.some(usesFlexVar);
    const wUsesV = wbody.some((l) => /\bv\b/.test(l));
    out.push(`${top ? 'export ' : ''}function ${writeName}(w: Writer, ${wUsesV || writeFlex ? '' : '_'}v: number, m: ${tName}): void {`);
    if (writeFlex) out.push(`  const flex = ${flexCond};`);
    out.push(...wbody, '}', '');
  }

  /** The code of this message: its types, readers and writers (imports are added by the caller). */
  emit(top: { encode: string; decode: string }): string {
    const [message, ...nested] = this.plan.structs;
    this.emitStruct(message!, top);
    for (const s of nested) this.emitStruct(s, null);
    return this.lines.join('\n');
  }

  /** Struct type names this message defines. */
  structNames(): string[] {
    return this.plan.structs.map((s) => this.typeOf(s.specName));
  }

  setRename(specName: string, typeName: string): void {
    this.plan.rename.set(specName, typeName);
  }

  rawStructNames(): string[] {
    return this.plan.structs.slice(1).map((s) => s.specName);
  }
}
