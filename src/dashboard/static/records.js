// The record browser: topics and partitions from /api/cluster, pages of records from /api/records (which reads
// them with Kastor's client), "follow" as a loop of long polls from the next offset, and — in kastor dev — a
// form that produces a record through POST /api/dev/produce.
const $ = (sel) => document.querySelector(sel);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const FOLLOW_KEEP = 500;

const state = { cluster: null, next: null, follow: 0, rows: 0 };

function bytes(b) {
  if (b.kind === 'null') return '<span class="null">null</span>';
  const more = b.truncated ? `<span class="hint"> … (${b.size} bytes)</span>` : '';
  if (b.kind === 'json') return `<pre class="json">${esc(b.text)}</pre>${more}`;
  return `<span class="${b.kind}">${esc(b.text)}</span>${more}`;
}

function row(r) {
  const headers = r.headers.map((h) => `<div><b>${esc(h.key)}</b>: ${bytes(h.value)}</div>`).join('');
  return `<tr data-offset="${r.offset}"><td class="num">${r.offset}</td><td>${new Date(r.timestamp).toISOString()}</td>
    <td class="key" data-kind="${r.key.kind}">${bytes(r.key)}</td><td class="value" data-kind="${r.value.kind}">${bytes(r.value)}</td><td class="headers">${headers}</td></tr>`;
}

function selected() {
  return { topic: $('#topic').value, partition: $('#partition').value };
}

function renderTopics() {
  const topics = state.cluster.topics;
  const keep = selected();
  const fromUrl = new URLSearchParams(location.search);
  $('#topic').innerHTML = topics.map((t) => `<option>${esc(t.name)}</option>`).join('');
  const wanted = keep.topic || fromUrl.get('topic');
  if (wanted && topics.some((t) => t.name === wanted)) $('#topic').value = wanted;
  renderPartitions(keep.partition || fromUrl.get('partition'));
}

function renderPartitions(wanted) {
  const t = state.cluster.topics.find((x) => x.name === $('#topic').value);
  $('#partition').innerHTML = (t?.partitions ?? []).map((p) => `<option>${p.partition}</option>`).join('');
  if (wanted !== null && wanted !== undefined && t?.partitions.some((p) => String(p.partition) === String(wanted))) $('#partition').value = String(wanted);
}

async function loadCluster() {
  const res = await fetch('/api/cluster');
  state.cluster = await res.json();
  document.body.classList.toggle('dev', Boolean(state.cluster.dev));
  renderTopics();
}

async function page(params) {
  const { topic, partition } = selected();
  const q = new URLSearchParams({ topic, partition, limit: $('#limit').value || '20', ...params });
  const res = await fetch(`/api/records?${q}`);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? res.statusText);
  return body;
}

function showWhere(p) {
  $('#where').innerHTML = `${esc(p.topic)}-${p.partition}: log from <b>${p.logStartOffset}</b> to <b id="hw">${p.highWatermark}</b> (high watermark) · next offset <b id="next-offset">${p.nextOffset}</b>`;
  $('#where').dataset.hw = p.highWatermark;
}

function showPage(p, append) {
  state.next = p.nextOffset;
  showWhere(p);
  const body = $('#records tbody');
  if (!append) {
    body.innerHTML = p.records.map(row).join('') || '<tr class="none"><td colspan="5" class="empty">no records here</td></tr>';
  } else if (p.records.length > 0) {
    body.querySelector('tr.none')?.remove();
    body.insertAdjacentHTML('beforeend', p.records.map(row).join(''));
    // Follow keeps the newest rows only.
    while (body.rows.length > FOLLOW_KEEP) body.rows[0].remove();
  }
  $('#next').disabled = BigInt(p.nextOffset) >= BigInt(p.highWatermark);
}

function startParams() {
  const from = $('#from').value;
  if (from === 'offset') return { from, offset: $('#offset').value || '0' };
  if (from === 'timestamp') return { from, timestamp: String(new Date($('#timestamp').value).getTime()) };
  return { from };
}

async function show() {
  stopFollowing();
  try {
    showPage(await page(startParams()), false);
    if ($('#follow').checked) follow();
  } catch (err) {
    $('#where').textContent = err.message;
  }
}

function stopFollowing() {
  state.follow++;
  $('#records').classList.remove('following');
}

// Long polls from the next offset until follow is unticked or another page is asked for.
async function follow() {
  const run = ++state.follow;
  $('#records').classList.add('following');
  while (run === state.follow) {
    try {
      const p = await page({ from: 'offset', offset: state.next ?? '0', waitMs: '2000' });
      if (run !== state.follow) return;
      showPage(p, true);
    } catch (err) {
      if (run !== state.follow) return;
      $('#where').textContent = `${err.message} (retrying)`;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function produce(e) {
  e.preventDefault();
  const headers = $('#produce-headers').value.split('\n').filter((l) => l.trim()).map((l) => {
    const i = l.indexOf('=');
    return i < 0 ? { key: l.trim(), value: '' } : { key: l.slice(0, i).trim(), value: l.slice(i + 1) };
  });
  const body = { topic: $('#topic').value, partition: $('#produce-partition').value, key: $('#produce-key').value || null, value: $('#produce-value').value, headers };
  const out = $('#produce-result');
  out.textContent = 'producing…';
  try {
    const res = await fetch('/api/dev/produce', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const r = await res.json();
    out.dataset.ok = String(res.ok);
    out.textContent = res.ok ? `produced to ${r.topic}-${r.partition} at offset ${r.offset}` : r.error;
    if (res.ok) {
      out.dataset.offset = r.offset;
      out.dataset.partition = r.partition;
    }
  } catch (err) {
    out.dataset.ok = 'false';
    out.textContent = err.message;
  }
}

async function main() {
  await loadCluster();
  $('#topic').addEventListener('change', () => renderPartitions(null));
  $('#browse').addEventListener('submit', (e) => {
    e.preventDefault();
    show();
  });
  $('#next').addEventListener('click', async () => {
    stopFollowing();
    $('#follow').checked = false;
    try {
      showPage(await page({ from: 'offset', offset: state.next }), false);
    } catch (err) {
      $('#where').textContent = err.message;
    }
  });
  $('#follow').addEventListener('change', () => ($('#follow').checked ? (state.next === null ? show() : follow()) : stopFollowing()));
  $('#produce').addEventListener('submit', produce);
  setInterval(() => loadCluster().catch(() => {}), 5000);
  if ($('#topic').value) show();
}

main();
