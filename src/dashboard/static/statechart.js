// Draws a machine's Mermaid stateDiagram-v2 text with its active states highlighted (the `current` class the
// server's text defines), using the mermaid bundle the server serves from node_modules.
const mermaid = window.mermaid;
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral', state: { useMaxWidth: true } });

let renders = 0;

/** Renders `chart` ({ mermaid, states }) into `el` with the state node ids in `active` highlighted. */
export async function drawStatechart(el, chart, active) {
  const lines = [chart.mermaid];
  for (const id of active) {
    const m = chart.states[id];
    // The machine's own root has no box in the diagram; everything else is highlighted.
    if (m && id.includes('.')) lines.push(`class ${m} current`);
  }
  const { svg } = await mermaid.render(`sc${++renders}`, lines.join('\n'));
  el.innerHTML = svg;
  el.dataset.active = active.join(' ');
}
