// The dashboard page: the cluster view from /api/events (Server-Sent Events, no reloading), the actor list
// from /api/actors, and one actor's statechart and events from /api/actors/:systemId/events while it is open.
import { drawStatechart } from '/statechart.js';

const $ = (sel) => document.querySelector(sel);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const fmt = (n) => (n === null || n === undefined ? '—' : n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e4 ? (n / 1e3).toFixed(1) + 'k' : Math.round(n).toLocaleString());
const age = (ms) => (ms === null ? 'never' : ms < 1500 ? 'live' : `${(ms / 1000).toFixed(0)} s ago`);

const state = { cluster: null, actors: [], machines: new Map(), selected: null, actorStream: null, summary: null, history: [] };
const samples = [];

function renderCluster(v) {
  state.cluster = v;
  const t = v.totals;
  $('#summary').innerHTML =
    `cluster <b>${esc(v.clusterId || '—')}</b> · controller <b>${v.controller ?? 'none'}</b> · ` +
    `${t.brokersUp} up / ${t.brokersDown} down · ${t.partitions} partitions · ` +
    `<span class="${t.underReplicated ? 'warn' : ''}">${t.underReplicated} under-replicated</span> · ${t.offline} offline`;

  $('#brokers tbody').innerHTML = v.brokers
    .map(
      (b) => `<tr data-broker="${b.id}" data-state="${b.state}" class="${b.state}">
      <td><b>${b.id}</b>${b.controller ? '<span class="badge ctrl">controller</span>' : ''}</td>
      <td><span class="badge ${b.state}">${b.state}</span></td>
      <td>${b.host ? esc(`${b.host}:${b.port}`) : '—'}</td>
      <td class="num">${b.leaderOf}</td><td class="num">${b.replicas}</td>
      <td class="num">${fmt(b.rates.recordsInPerSec)}</td><td class="num">${fmt(b.rates.recordsOutPerSec)}</td><td class="num">${fmt(b.rates.bytesInPerSec)}</td>
      <td>${age(b.statusAgeMs)}</td>
      <td>${b.http ? `<a class="http" href="http://${esc(b.http)}/" target="_blank">${esc(b.http)}</a> · <a class="metrics" href="http://${esc(b.http)}/metrics" target="_blank">metrics</a> · <a href="http://${esc(b.http)}/readyz" target="_blank">readyz</a>` : '—'}</td>
      ${devCell(v.dev, b.id)}</tr>`,
    )
    .join('');
  document.body.classList.toggle('dev', Boolean(v.dev));

  const rows = [];
  for (const topic of v.topics) {
    for (const p of topic.partitions) {
      const cls = p.offline ? 'offline' : p.underReplicated ? 'urp' : '';
      const replicas = p.replicas.map((r) => (p.isr.includes(r) ? `${r}` : `<span class="out-of-isr" title="out of sync">${r}</span>`)).join(', ');
      const leos = Object.entries(p.replicaLogEndOffsets).map(([b, o]) => `${b}:${fmt(o)}`).join(' ');
      rows.push(`<tr data-partition="${esc(topic.name)}-${p.partition}" data-leader="${p.leader}" data-urp="${p.underReplicated}" data-offline="${p.offline}" data-hw="${p.highWatermark ?? ''}" data-isr="${p.isr.join(',')}" class="${cls}">
        <td>${esc(topic.name)}</td><td class="num">${p.partition}</td>
        <td class="leader-id">${p.leader < 0 ? 'none' : p.leader}</td><td class="num">${p.leaderEpoch}</td>
        <td>${replicas}</td><td>${p.isr.join(', ')}</td>
        <td class="num">${fmt(p.logEndOffset)}</td><td class="num">${fmt(p.highWatermark)}</td>
        <td class="num lso" data-lso="${p.lastStableOffset ?? ''}">${fmt(p.lastStableOffset)}</td><td class="num lso-lag${p.lsoLag ? ' held' : ''}" data-lso-lag="${p.lsoLag ?? ''}">${fmt(p.lsoLag)}</td><td>${esc(leos)}</td></tr>`);
    }
  }
  $('#partitions tbody').innerHTML = rows.join('') || '<tr><td colspan="11" class="empty">no topics yet</td></tr>';

  $('#groups tbody').innerHTML =
    v.groups
      .map((g) => `<tr data-group="${esc(g.groupId)}" class="${g.groupId === state.lagGroup ? 'selected' : ''}"><td>${esc(g.groupId)}</td><td>${g.coordinator}</td><td>${esc(g.state)}</td><td class="num">${g.generation}</td><td class="num">${g.members}</td><td class="num">${fmt(g.lag)}</td></tr>`)
      .join('') || '<tr><td colspan="6" class="empty">no consumer groups reported</td></tr>';

  renderTransactions(v);

  samples.push({ at: v.generatedAt, inR: t.recordsInPerSec, outR: t.recordsOutPerSec });
  while (samples.length > 120) samples.shift();
  drawSpark();
  $('#rates').innerHTML =
    `<span class="in">in <b>${fmt(t.recordsInPerSec)}</b> rec/s</span><span class="outc">out <b>${fmt(t.recordsOutPerSec)}</b> rec/s</span>` +
    `<span class="in">${fmt(t.bytesInPerSec)} B/s</span><span class="outc">${fmt(t.bytesOutPerSec)} B/s</span>`;
}

// Transactions per coordinator (the brokers' statuses, via the cluster view): open ones with how long they have
// run against their timeout, a bar that turns amber past 80% and red once overdue (the coordinator aborts it).
const secs = (ms) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);
function renderTransactions(v) {
  const txns = v.transactions ?? [];
  const byCoordinator = new Map();
  for (const t of txns) byCoordinator.set(t.coordinator, (byCoordinator.get(t.coordinator) ?? 0) + (t.runningMs === null ? 0 : 1));
  $('#txn-summary').innerHTML =
    `<b data-open="${v.totals.openTransactions ?? 0}">${v.totals.openTransactions ?? 0}</b> open of ${txns.length} transactional ids` +
    [...byCoordinator].map(([b, open]) => ` · broker ${b}: ${open} open`).join('') +
    (v.transactionsOmitted ? ` · ${v.transactionsOmitted} more not shown` : '');
  $('#transactions tbody').innerHTML =
    txns
      .map((t) => {
        const parts = t.partitions.map((p) => `${p.topic}-${p.partition}`).join(', ');
        let running = '—';
        if (t.runningMs !== null) {
          const share = Math.min(1, t.runningMs / Math.max(1, t.timeoutMs));
          const cls = t.overdue ? 'overdue' : share > 0.8 ? 'late' : '';
          running = `<span class="txn-bar ${cls}"><i style="width:${(share * 100).toFixed(0)}%"></i></span> ${secs(t.runningMs)} / ${secs(t.timeoutMs)}`;
        }
        return `<tr data-txn="${esc(t.transactionalId)}" data-state="${esc(t.state)}" data-coordinator="${t.coordinator}" data-partitions="${esc(parts)}" data-running-ms="${t.runningMs ?? ''}" class="${t.runningMs === null ? 'idle' : 'open'}${t.overdue ? ' overdue' : ''}">
        <td>${t.coordinator}</td><td>${esc(t.transactionalId)}</td><td><span class="txn-state ${esc(t.state)}">${esc(t.state)}</span></td>
        <td class="num">${t.producerId}</td><td class="num">${t.producerEpoch}</td><td>${esc(parts) || '—'}</td><td class="running">${running}</td></tr>`;
      })
      .join('') || '<tr><td colspan="7" class="empty">no transactional ids reported</td></tr>';
}

// A group's lag per partition over time (GET /api/groups/:id/lag, sampled by the server), as SVG polylines.
const COLORS = ['#2459c7', '#c0262d', '#1f8a4c', '#b86e00', '#8b3fc1', '#0f8a8a', '#6b4e16', '#d6336c'];
async function loadLag() {
  const group = state.lagGroup;
  if (!group) return;
  let series;
  try {
    series = await (await fetch(`/api/groups/${encodeURIComponent(group)}/lag`)).json();
  } catch {
    return;
  }
  if (group !== state.lagGroup) return;
  drawLag(series);
}

function drawLag(series) {
  const samples = series.samples;
  const svg = $('#lag-chart');
  const keys = [...new Set(samples.flatMap((s) => Object.keys(s.lag)))].sort();
  const totals = samples.map((s) => Object.values(s.lag).reduce((n, v) => n + (v ?? 0), 0));
  const max = Math.max(1, ...samples.flatMap((s) => Object.values(s.lag).map((v) => v ?? 0)));
  const t0 = samples[0]?.at ?? 0;
  const span = Math.max(1, (samples.at(-1)?.at ?? 0) - t0);
  const x = (at) => 40 + ((at - t0) / span) * 550;
  const y = (v) => 150 - (v / max) * 140;
  svg.dataset.samples = String(samples.length);
  svg.dataset.maxTotal = String(Math.max(0, ...totals));
  svg.dataset.lastTotal = samples.length ? String(totals.at(-1)) : '';
  const lines = keys.map((k, i) => {
    const pts = samples.filter((s) => s.lag[k] !== undefined && s.lag[k] !== null).map((s) => `${x(s.at).toFixed(1)},${y(s.lag[k]).toFixed(1)}`);
    const last = samples.at(-1)?.lag[k];
    return `<polyline data-partition="${esc(k)}" data-last="${last ?? ''}" points="${pts.join(' ')}" stroke="${COLORS[i % COLORS.length]}"/>`;
  });
  svg.innerHTML =
    `<line x1="40" y1="150" x2="590" y2="150" class="axis"/><line x1="40" y1="10" x2="40" y2="150" class="axis"/>` +
    `<text x="36" y="14" text-anchor="end">${fmt(max)}</text><text x="36" y="150" text-anchor="end">0</text>` +
    `<text x="590" y="159" text-anchor="end">${samples.length ? `${Math.round(span / 1000)} s` : ''}</text>` +
    lines.join('');
  $('#lag-title').innerHTML = `group <b>${esc(series.groupId)}</b>: lag per partition, ${samples.length} samples, now <b id="lag-now">${samples.length ? fmt(totals.at(-1)) : '—'}</b>`;
  $('#lag-legend').innerHTML = keys.map((k, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(k)}: ${fmt(samples.at(-1)?.lag[k])}</span>`).join('');
}

function selectGroup(groupId) {
  state.lagGroup = groupId;
  document.querySelectorAll('#groups tr[data-group]').forEach((tr) => tr.classList.toggle('selected', tr.dataset.group === groupId));
  loadLag();
}

// kastor dev only: the broker's process and buttons acting on it (POST /api/dev/brokers/:id/:action).
function devCell(dev, id) {
  if (!dev) return '';
  const p = dev.find((d) => d.id === id);
  if (!p) return '<td class="dev-only">—</td>';
  const can = { kill: p.state === 'running' || p.state === 'paused', pause: p.state === 'running', resume: p.state === 'paused', restart: p.state !== 'restarting' };
  const buttons = Object.entries(can)
    .map(([action, ok]) => `<button type="button" data-action="${action}" data-broker="${id}" ${ok ? '' : 'disabled'}>${action}</button>`)
    .join('');
  return `<td class="dev-only" data-process="${esc(p.state)}"><span class="proc ${esc(p.state)}">${esc(p.state)}${p.pid ? ` · pid ${p.pid}` : ''}</span> ${buttons}</td>`;
}

async function devAction(button) {
  const { action, broker } = button.dataset;
  button.disabled = true;
  $('#dev-message').textContent = `${action} broker ${broker}…`;
  try {
    const res = await fetch(`/api/dev/brokers/${broker}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const body = await res.json();
    $('#dev-message').textContent = body.message ?? body.error ?? res.statusText;
    $('#dev-message').dataset.ok = String(res.ok);
  } catch (err) {
    $('#dev-message').textContent = `could not ${action} broker ${broker}: ${err.message}`;
    $('#dev-message').dataset.ok = 'false';
  }
}

function drawSpark() {
  const max = Math.max(1, ...samples.map((s) => Math.max(s.inR, s.outR)));
  const line = (key) => samples.map((s, i) => `${(i / 119) * 240},${48 - (s[key] / max) * 46}`).join(' ');
  $('#spark').innerHTML = `<polyline points="${line('inR')}" stroke="#2459c7"/><polyline points="${line('outR')}" stroke="#8b3fc1"/>`;
}

function connectCluster() {
  const es = new EventSource('/api/events');
  es.addEventListener('cluster', (e) => {
    $('#live').dataset.live = 'true';
    $('#live').textContent = '● live';
    renderCluster(JSON.parse(e.data));
  });
  es.onerror = () => {
    $('#live').dataset.live = 'false';
    $('#live').textContent = '● reconnecting';
  };
}

async function loadActors() {
  try {
    state.actors = await (await fetch('/api/actors')).json();
  } catch {
    return;
  }
  renderActorList();
}

function renderActorList() {
  const filter = $('#actor-filter').value.trim().toLowerCase();
  $('#actor-list').innerHTML = state.actors
    .filter((a) => !filter || a.systemId.toLowerCase().includes(filter))
    .sort((a, b) => a.systemId.localeCompare(b.systemId))
    .map((a) => `<li data-actor="${esc(a.systemId)}" class="${a.systemId === state.selected ? 'selected' : ''}"><span>${esc(a.systemId)}</span><span class="st">${esc(stateText(a.state))}</span></li>`)
    .join('');
}

function stateText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return Object.entries(value).map(([k, v]) => `${k}.${stateText(v)}`).join(', ');
}

async function selectActor(systemId) {
  if (state.actorStream) state.actorStream.close();
  state.actorStream = null;
  state.selected = systemId;
  state.history = [];
  renderActorList();
  if (!systemId) return;
  if (location.hash !== `#actor=${encodeURIComponent(systemId)}`) history.replaceState(null, '', `#actor=${encodeURIComponent(systemId)}`);
  $('#actor-title').textContent = systemId;
  $('#actor-state').textContent = 'connecting…';
  $('#statechart').innerHTML = '';
  $('#actor-events').innerHTML = '';
  const es = new EventSource(`/api/actors/${encodeURIComponent(systemId)}/events`);
  state.actorStream = es;
  es.addEventListener('snapshot', (e) => showSummary(JSON.parse(e.data)));
  es.addEventListener('history', (e) => {
    state.history = JSON.parse(e.data);
    renderEvents();
  });
  es.addEventListener('transition', (e) => {
    const { record, summary } = JSON.parse(e.data);
    state.history.push(record);
    if (state.history.length > 50) state.history.shift();
    renderEvents();
    showSummary(summary);
  });
  es.onerror = () => {
    // The diagram stays for reference, greyed out: it no longer shows a live state.
    $('#actor-state').textContent = 'actor not reachable (it or its broker may have stopped); retrying…';
    $('#actor-state').dataset.state = '';
    $('#statechart').classList.add('stale');
  };
  es.onopen = () => $('#statechart').classList.remove('stale');
}

let drawing = Promise.resolve();
function showSummary(summary) {
  if (!summary || summary.systemId !== state.selected) return;
  state.summary = summary;
  $('#actor-state').innerHTML = `state <b data-testid="actor-state">${esc(stateText(summary.state))}</b> · status ${esc(summary.status)} · machine ${esc(summary.machineId ?? '—')}`;
  $('#actor-state').dataset.state = stateText(summary.state);
  const chart = state.machines.get(summary.machineId);
  if (!chart) {
    $('#statechart').innerHTML = '<div class="empty">no diagram for this actor</div>';
    return;
  }
  drawing = drawing.then(() => drawStatechart($('#statechart'), chart, summary.active)).catch((err) => {
    $('#statechart').textContent = `could not draw: ${err.message}`;
  });
}

function renderEvents() {
  $('#actor-events').innerHTML = state.history
    .slice()
    .reverse()
    .map((r) => `<li><span class="time">${new Date(r.at).toLocaleTimeString()}</span> <span class="ev">${esc(r.event)}</span> → <span class="to">${esc(stateText(r.state))}</span> <span class="detail">${esc(r.detail)}</span></li>`)
    .join('') || '<li class="empty">no events since this view opened</li>';
}

async function main() {
  connectCluster();
  $('#groups').addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-group]');
    if (tr) selectGroup(tr.dataset.group);
  });
  setInterval(loadLag, 2000);
  $('#brokers').addEventListener('click', (e) => {
    const button = e.target.closest('button[data-action]');
    if (button) devAction(button);
  });
  const charts = await (await fetch('/api/machines')).json();
  for (const c of charts) state.machines.set(c.id, c);
  await loadActors();
  setInterval(loadActors, 3000);
  $('#actor-list').addEventListener('click', (e) => {
    const li = e.target.closest('li[data-actor]');
    if (li) selectActor(li.dataset.actor);
  });
  $('#actor-filter').addEventListener('input', renderActorList);
  const fromHash = () => {
    const m = /#actor=(.+)$/.exec(location.hash);
    if (m && decodeURIComponent(m[1]) !== state.selected) selectActor(decodeURIComponent(m[1]));
  };
  window.addEventListener('hashchange', fromHash);
  fromHash();
}

main();
