// Kastor's machines drawn as statecharts: `toDirectedGraph` from xstate/graph turns a machine into nodes and
// edges, and this module writes them as Mermaid `stateDiagram-v2` text, which the dashboard page renders
// with the mermaid bundle served from node_modules (offline: no hosted Stately editor needed).
//
// Every machine exported from machines/*.ts is found by reading that directory, so a new machine file
// (controller.ts, group.ts) shows up in the dashboard without a change here.
import { readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toDirectedGraph } from 'xstate/graph';
import type { AnyStateMachine } from 'xstate';

export interface Statechart {
  /** The machine's id (an actor's `logic.id`). */
  id: string;
  /** Mermaid stateDiagram-v2 text. */
  mermaid: string;
  /** XState state node id (`partitionReplica.leader`) → the Mermaid state id used in the text. */
  states: Record<string, string>;
}

type GraphNode = ReturnType<typeof toDirectedGraph>;

const self = fileURLToPath(import.meta.url);
const machinesDir = join(dirname(self), '..', '..', 'machines');
/** `.ts` from the sources, `.js` in the compiled package (dist/machines/ beside dist/src/). */
const moduleExtension = extname(self);

function isMachine(v: unknown): v is AnyStateMachine {
  return typeof v === 'object' && v !== null && 'root' in v && 'config' in v && typeof (v as { transition?: unknown }).transition === 'function';
}

/** Every machine exported by machines/*.ts (*.js when compiled), by id. A file that fails to load is skipped (and reported). */
export async function loadMachines(dir = machinesDir, onError?: (file: string, err: unknown) => void): Promise<Map<string, AnyStateMachine>> {
  const out = new Map<string, AnyStateMachine>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(moduleExtension) && !f.endsWith('.d.ts')).sort()) {
    try {
      const mod = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
      for (const v of Object.values(mod)) if (isMachine(v)) out.set(v.id, v);
    } catch (err) {
      onError?.(file, err);
    }
  }
  return out;
}

/** Mermaid ids allow letters, digits and underscores only. */
function mermaidId(stateId: string): string {
  return 's_' + stateId.replace(/[^A-Za-z0-9]/g, '_');
}

function quote(text: string): string {
  return text.replace(/"/g, "'").replace(/[:;{}]/g, ' ');
}

/** A short label for an edge: events as named, done/error of an invoked actor as `done: src`. */
function edgeLabel(eventType: string, sources: Map<string, string>): string {
  const m = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (m) return `${sources.get(m[2]!) ?? 'invoke'} ${m[1]}`;
  if (eventType.startsWith('xstate.after.')) return `after ${eventType.split('.')[2]} ms`;
  return eventType;
}

export function toStatechart(machine: AnyStateMachine): Statechart {
  const graph = toDirectedGraph(machine);
  const states: Record<string, string> = {};
  const lines: string[] = ['stateDiagram-v2'];
  const edges: string[] = [];
  // Invoked actor ids (`0.partitionReplica.recovering`) → their src names, for readable labels.
  const sources = new Map<string, string>();
  const collectInvokes = (node: GraphNode) => {
    for (const inv of node.stateNode.invoke ?? []) sources.set(inv.id, typeof inv.src === 'string' ? inv.src : 'actor');
    node.children.forEach(collectInvokes);
  };
  collectInvokes(graph);

  const write = (node: GraphNode, indent: string) => {
    const sn = node.stateNode;
    const id = mermaidId(node.id);
    states[node.id] = id;
    if (node.children.length > 0) {
      lines.push(`${indent}state "${quote(sn.key)}" as ${id} {`);
      const initial = sn.initial?.target?.[0];
      if (initial) lines.push(`${indent}  [*] --> ${mermaidId(initial.id)}`);
      for (const c of node.children) write(c, indent + '  ');
      lines.push(`${indent}}`);
    } else {
      lines.push(`${indent}state "${quote(sn.key)}" as ${id}`);
      if (sn.type === 'final') edges.push(`${id} --> [*]`);
    }
  };

  // The root's own id is the machine; draw its children at the top level and the root's transitions from
  // each child (XState applies them in every state).
  for (const c of graph.children) write(c, '');
  states[graph.id] = mermaidId(graph.id);
  const initial = graph.stateNode.initial?.target?.[0];
  if (initial) lines.push(`[*] --> ${mermaidId(initial.id)}`);

  const addEdges = (node: GraphNode) => {
    const seen = new Set<string>();
    for (const e of node.edges) {
      // A transition without a target only runs actions (internal): not a line in the diagram.
      if (!e.transition.target || e.transition.target.length === 0) continue;
      const label = edgeLabel(e.label.text, sources);
      const from = e.source.id === graph.id ? null : mermaidId(e.source.id);
      const key = `${e.source.id}>${e.target.id}:${label}`;
      if (seen.has(key) || !from) continue;
      seen.add(key);
      edges.push(`${from} --> ${mermaidId(e.target.id)} : ${quote(label)}`);
    }
    // Eventless transitions (`always`) are not edges of the directed graph.
    for (const t of node.stateNode.always ?? []) {
      for (const target of t.target ?? []) {
        const guard = t.guard && typeof t.guard === 'object' && 'type' in t.guard ? ` [${String((t.guard as { type: unknown }).type)}]` : typeof t.guard === 'string' ? ` [${t.guard}]` : '';
        edges.push(`${mermaidId(node.id)} --> ${mermaidId(target.id)} : ${quote(`always${guard}`)}`);
      }
    }
    node.children.forEach(addEdges);
  };
  addEdges(graph);
  // Root-level transitions (e.g. STOP from anywhere) drawn once as a note-like edge from a pseudo state.
  const rootEdges = graph.edges.filter((e) => e.transition.target && e.transition.target.length > 0);
  if (rootEdges.length > 0) {
    lines.push(`state "any state" as s_any_state`);
    const seen = new Set<string>();
    for (const e of rootEdges) {
      const label = edgeLabel(e.label.text, sources);
      const key = `${e.target.id}:${label}`;
      if (seen.has(key)) continue;
      seen.add(key);
      edges.push(`s_any_state --> ${mermaidId(e.target.id)} : ${quote(label)}`);
    }
  }
  lines.push(...edges);
  lines.push('classDef current fill:#f5a623,stroke:#8a5a00,stroke-width:3px,color:#000,font-weight:bold');
  return { id: machine.id, mermaid: lines.join('\n'), states };
}
