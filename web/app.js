// vmcore-report's page: takes the files, recognises them, drives the worker
// (worker.js + main.wasm) and shows progress, the coverage tracker, previews
// and the downloads. No framework, no network after load: the files are
// read inside the worker, in this browser.
'use strict';

const $ = (id) => document.getElementById(id);

// el builds an element; text is always set as text, never parsed as HTML.
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function humanBytes(n) {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} bytes`;
}

function seconds(ms) { return `${(ms / 1000).toFixed(1)} s`; }

const state = {
  module: null, // the compiled main.wasm, shared by every worker
  worker: null,
  ready: false,
  // The packer: a second worker that compresses the tar stream of a run
  // while the analyzer still writes it (a fifth of the time, saved).
  packer: null,
  packerReady: false,
  pack: null, // this run's packing: {done, packed, fallback}
  version: '',
  coverage: [], // registry rows
  rows: new Map(), // template path → <tr>
  dumps: [], // classified files used as the dump
  vmlinux: null, // classified file used as the vmlinux
  ignored: [], // classified files not used, with the reason
  running: false,
  pendingStart: false,
  restartTimer: null,
  outcomes: new Map(), // template → Map(path → outcome)
  result: null, // the 'done' message
  archiveURL: null,
  manifestURL: null,
  previewSeq: 0,
  previewFor: null,
  log: [],
};

function setState(s) { document.body.dataset.state = s; }

// ---------------------------------------------------------------------------
// Recognising files from their first bytes.

const te = new TextDecoder('latin1');
function ascii(b, off, len) { return te.decode(b.subarray(off, off + len)); }
function cstr(b, off, len) { const s = ascii(b, off, len); const i = s.indexOf('\0'); return i < 0 ? s : s.slice(0, i); }

// classify reads the head of a file and says what it is and how it will be
// used: role 'dump', 'vmlinux' or 'ignored' (with a reason in plain words).
async function classify(file) {
  const c = { file, name: file.name, size: file.size, role: 'ignored', kind: '', note: '' };
  if (file.size === 0) { c.kind = 'empty file'; c.note = 'the file is empty'; return c; }
  let b;
  try {
    b = new Uint8Array(await file.slice(0, 8192).arrayBuffer());
  } catch (e) {
    c.kind = 'unreadable'; c.note = `the browser could not read it (${e.message})`; return c;
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const has = (off, s) => b.length >= off + s.length && ascii(b, off, s.length) === s;

  if (has(0, 'KDUMP   ') || has(0, 'DISKDUMP')) {
    Object.assign(c, kdumpInfo(b, dv));
    c.role = 'dump';
    return c;
  }
  if (has(0, 'makedumpfile')) {
    // A flattened stream: 4 KiB header, then {offset, size} records (big
    // endian) each followed by its data. The first record holds the head
    // of the real file.
    c.role = 'dump';
    c.kind = 'flattened dump (makedumpfile -F)';
    if (has(4096 + 16, 'KDUMP   ')) {
      const inner = kdumpInfo(b.subarray(4096 + 16), new DataView(b.buffer, b.byteOffset + 4096 + 16));
      c.kind = `flattened kdump-compressed dump${inner.release ? `, Linux ${inner.release}` : ''}`;
      c.release = inner.release;
    } else if (has(4096 + 16, '\x7fELF')) {
      c.kind = 'flattened ELF dump';
    }
    return c;
  }
  if (has(0, '\x7fELF')) {
    const is64 = b[4] === 2, le = b[5] === 1;
    const type = dv.getUint16(16, le), machine = dv.getUint16(18, le);
    const arch = machine === 62 ? 'x86_64' : machine === 3 ? 'i386' : machine === 183 ? 'aarch64' : `machine ${machine}`;
    if (type === 4) {
      c.role = 'dump';
      c.kind = `ELF core dump (${arch})`;
      if (machine !== 62) { c.role = 'ignored'; c.note = `only x86_64 dumps are supported, this one is ${arch}`; }
    } else if (type === 2) {
      c.kind = `ELF executable (${arch})`;
      if (machine === 62 && is64) {
        c.role = 'vmlinux';
        c.kind = 'vmlinux (x86_64 ELF executable)';
      } else {
        c.note = `a vmlinux must be an x86_64 ELF executable, this is ${is64 ? '64' : '32'}-bit ${arch}`;
      }
    } else if (type === 1) {
      c.kind = 'ELF relocatable object'; c.note = 'a kernel module (.ko) or object file, not the vmlinux';
    } else if (type === 3) {
      c.kind = 'ELF shared object or PIE program'; c.note = 'a program or library, not a vmlinux or a dump';
    } else {
      c.kind = `ELF file (type ${type})`; c.note = 'neither a core dump nor a vmlinux';
    }
    return c;
  }
  if (has(0x202, 'HdrS')) {
    c.kind = 'compressed kernel image (vmlinuz)';
    c.note = 'the analysis needs the uncompressed vmlinux with debug info (e.g. /usr/lib/debug/boot/vmlinux-<release> from the linux-image-…-dbg package)';
    return c;
  }
  const compressed = [[[0x1f, 0x8b], 'gzip', 'gunzip'], [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz', 'unxz'],
    [[0x28, 0xb5, 0x2f, 0xfd], 'zstd', 'unzstd'], [[0x42, 0x5a, 0x68], 'bzip2', 'bunzip2']];
  for (const [magic, name, tool] of compressed) {
    if (magic.every((v, i) => b[i] === v)) {
      c.kind = `${name}-compressed file`;
      c.note = `decompress it first (${tool}), then choose the file inside`;
      return c;
    }
  }
  if (has(257, 'ustar')) { c.kind = 'tar archive'; c.note = 'extract the dump (and vmlinux) from it first'; return c; }
  if (/^[0-9a-f]{16} [A-Za-z] \S+\n/.test(ascii(b, 0, 64))) {
    c.kind = 'System.map'; c.note = 'not needed: symbols come from the vmlinux or the dump';
    return c;
  }
  c.kind = 'not recognised';
  c.note = 'not a crash dump (ELF core, kdump-compressed or flattened) nor a vmlinux';
  return c;
}

// kdumpInfo reads disk_dump_header (and the split fields of the sub-header
// when they are within the bytes read) of a 64-bit little-endian kdump file.
function kdumpInfo(b, dv) {
  const out = { kind: 'kdump-compressed dump (makedumpfile)' };
  if (b.length < 464) return out;
  const release = cstr(b, 12 + 2 * 65, 65), node = cstr(b, 12 + 65, 65);
  out.release = release;
  out.node = node;
  if (release) out.kind += `, Linux ${release}`;
  if (node) out.kind += ` on ${node}`;
  const blockSize = dv.getInt32(428, true);
  const sub = blockSize;
  if (blockSize > 0 && sub + 96 <= b.length) {
    const split = dv.getInt32(sub + 12, true);
    if (split) {
      const version = dv.getInt32(8, true);
      const start = version >= 6 ? dv.getBigUint64(sub + 80, true) : dv.getBigUint64(sub + 16, true);
      const end = version >= 6 ? dv.getBigUint64(sub + 88, true) : dv.getBigUint64(sub + 24, true);
      out.split = { start, end };
      out.kind = out.kind.replace('kdump-compressed dump (makedumpfile)', 'part of a split dump (makedumpfile --split)');
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Choosing the inputs.

async function addFiles(list) {
  const files = [...list];
  if (files.length === 0) return;
  const classified = await Promise.all(files.map(classify));
  const dumps = classified.filter((c) => c.role === 'dump');
  const vmlinuxes = classified.filter((c) => c.role === 'vmlinux');
  // A drop with dump files replaces the dump; one with a vmlinux replaces
  // the vmlinux: add the vmlinux after the dump, or swap the dump.
  if (dumps.length) state.dumps = dumps;
  if (vmlinuxes.length) {
    state.vmlinux = vmlinuxes[0];
    for (const extra of vmlinuxes.slice(1)) {
      extra.role = 'ignored';
      extra.note = `only one vmlinux is used (${vmlinuxes[0].name})`;
    }
  }
  state.ignored = classified.filter((c) => c.role === 'ignored');
  state.dumps.sort((a, b) => (a.split && b.split ? (a.split.start < b.split.start ? -1 : 1) : 0));
  renderFiles();
  const problem = inputProblem();
  if (problem) {
    showError('input', problem, '');
    return;
  }
  if (state.dumps.length === 0) {
    hideError();
    $('engine').textContent = 'vmlinux recognised. Now add the crash dump.';
    return;
  }
  startRun();
}

// inputProblem says why the chosen files cannot make a report, or ''.
function inputProblem() {
  if (state.dumps.length === 0 && !state.vmlinux) {
    const why = state.ignored.map((c) => `${c.name} is ${article(c.kind)} (${c.note})`).join('; ');
    return `None of the files is a crash dump: ${why}.`;
  }
  if (state.dumps.length > 1) {
    const whole = state.dumps.filter((d) => !d.split);
    if (whole.length) {
      return `Several dumps were given (${state.dumps.map((d) => d.name).join(', ')}), but ${whole.map((d) => d.name).join(', ')} ` +
        `${whole.length > 1 ? 'are complete dumps' : 'is a complete dump'}, not ${whole.length > 1 ? 'parts' : 'a part'} of a split dump. ` +
        'Choose one dump, or every part of one split dump.';
    }
  }
  return '';
}

function article(kind) { return /^[aeiou]/i.test(kind) ? `an ${kind}` : `a ${kind}`; }

function renderFiles() {
  const tbody = $('filelist').querySelector('tbody');
  tbody.replaceChildren();
  const row = (c, use, cls) => tbody.append(el('tr', { class: cls },
    el('td', {}, el('span', { class: 'fname', text: c.name })),
    el('td', { class: 'num', text: humanBytes(c.size) }),
    el('td', { text: c.kind }),
    el('td', { text: use })));
  state.dumps.forEach((c, i) => row(c, state.dumps.length > 1 ? `dump, part ${i + 1} of ${state.dumps.length}` : 'the dump', 'use'));
  if (state.vmlinux) row(state.vmlinux, 'the vmlinux (symbols and types)', 'use');
  for (const c of state.ignored) row(c, `not used: ${c.note}`, 'ignored');
  const any = tbody.children.length > 0;
  $('filelist').hidden = !any;
  $('file-actions').hidden = !any;
}

// afterDiscard ends a run whose files were cleared meanwhile.
function afterDiscard() {
  state.discard = false;
  $('progress').hidden = true;
  renderOutcomes();
  setState('idle');
}

function clearFiles() {
  if (state.running) state.discard = true;
  state.pendingStart = false;
  cancelRun();
  state.dumps = [];
  state.vmlinux = null;
  state.ignored = [];
  renderFiles();
  resetResult();
  hideError();
  $('progress').hidden = true;
  $('engine').textContent = state.ready ? 'Ready.' : 'Loading the analyzer…';
  setState(state.ready ? 'idle' : 'loading');
}

// ---------------------------------------------------------------------------
// The worker.

async function compileWasm() {
  try {
    return await WebAssembly.compileStreaming(fetch('main.wasm'));
  } catch (e) {
    // A server that does not send application/wasm: compile from bytes.
    const r = await fetch('main.wasm');
    if (!r.ok) throw new Error(`main.wasm: HTTP ${r.status}`);
    return WebAssembly.compile(await r.arrayBuffer());
  }
}

// newWorker starts a worker on the compiled module. Its messages (and a
// 'fatal' one if it dies) go to handle for as long as it is the worker
// current() names: a replaced worker's late messages are dropped.
function newWorker(current, handle) {
  const w = new Worker('worker.js');
  w.onmessage = (e) => { if (w === current()) handle(e.data); };
  w.onerror = (e) => {
    if (w !== current()) return;
    e.preventDefault();
    handle({ type: 'fatal', message: `The analyzer's worker failed: ${e.message || 'unknown error'}.` });
  };
  w.postMessage({ type: 'init', module: state.module });
  return w;
}

function startWorker() {
  state.ready = false;
  state.worker = newWorker(() => state.worker, onMessage);
}

function send(msg, transfer = []) { state.worker.postMessage(msg, transfer); }

function startPacker() {
  state.packerReady = false;
  state.packer = newWorker(() => state.packer, onPackerMessage);
}

// recyclePacker ends the packing of a run (finished, failed or abandoned):
// the packer takes the next run's stream, which drops what is left of
// this one. (A new worker would fetch worker.js again: no request may
// leave the page once it has loaded.)
function recyclePacker() {
  state.pack = null;
  state.packerReady = state.packer !== null;
}

function onPackerMessage(m) {
  switch (m.type) {
    case 'ready':
      state.packerReady = true;
      break;
    case 'packed':
      if (!state.pack) break;
      state.pack.packed = { blob: m.blob, size: m.size, sha256: m.sha256, format: m.format };
      finishPack();
      break;
    case 'error':
    case 'fatal':
      // The analyzer still has every file: it packs the archive itself,
      // and every later one too.
      state.packer.terminate();
      state.packer = null;
      state.packerReady = false;
      if (state.pack && !state.pack.fallback) {
        state.pack.fallback = true;
        if (state.pack.done) send({ type: 'archive', format: $('format').value });
      }
      break;
  }
}

// awaitPack holds a finished report until its archive is packed.
function awaitPack(m) {
  state.pack.done = m;
  renderStages('archive', `.${$('format').value}`);
  if (state.pack.fallback) send({ type: 'archive', format: $('format').value });
  else finishPack();
}

function finishPack() {
  const p = state.pack;
  if (!p || !p.done || !p.packed) return;
  const m = p.done;
  m.blob = p.packed.blob;
  m.packedBy = p.packed.name ? 'analyzer' : 'packer';
  Object.assign(m.summary, {
    archive_size: p.packed.size, archive_sha256: p.packed.sha256,
    archive_name: p.packed.name || `${m.summary.top}.${p.packed.format}`,
  });
  onDone(m);
  recyclePacker();
}

function startRun() {
  hideError();
  resetResult();
  if (!state.ready) {
    state.pendingStart = true;
    $('engine').textContent = 'Loading the analyzer… the analysis starts as soon as it is ready.';
    return;
  }
  if (state.running) {
    // Restart with the new files once the current run has stopped.
    state.pendingStart = true;
    cancelRun();
    return;
  }
  state.pendingStart = false;
  state.cancelling = false;
  state.discard = false;
  state.running = true;
  state.outcomes = new Map();
  state.lastProgress = null;
  renderOutcomes();
  setState('running');
  $('engine').textContent = '';
  $('progress').hidden = false;
  $('cancel').disabled = false;
  state.shownStage = 'open';
  state.shownDetail = '';
  renderStages('open');
  $('bar').removeAttribute('value');
  state.t0 = performance.now();
  clearInterval(state.ticker);
  state.ticker = setInterval(renderStats, 250);
  renderStats();
  if (state.pack) recyclePacker(); // left over from an abandoned run
  let packPort = null;
  if (state.packerReady) {
    const ch = new MessageChannel();
    state.packer.postMessage({ type: 'pack', port: ch.port2, format: $('format').value }, [ch.port2]);
    state.packerReady = false;
    state.pack = { done: null, packed: null, fallback: false };
    packPort = ch.port1;
  }
  send({
    type: 'start',
    dump: state.dumps.map((c) => c.file),
    vmlinux: state.vmlinux ? state.vmlinux.file : null,
    format: $('format').value,
    // ?types=dwarf reads types from the vmlinux's DWARF instead of its BTF
    // (for comparisons and benchmarks; BTF is faster and the default).
    types: new URLSearchParams(location.search).get('types') === 'dwarf' ? 'dwarf' : '',
    packPort,
  }, packPort ? [packPort] : []);
}

function cancelRun() {
  if (!state.running) return;
  $('cancel').disabled = true;
  state.cancelling = true;
  renderStats();
  send({ type: 'cancel' });
  // The run stops at its next pause, usually within a fraction of a second;
  // one stuck in a long computation is stopped by replacing the worker.
  clearTimeout(state.restartTimer);
  state.restartTimer = setTimeout(() => {
    if (!state.running) return;
    state.worker.terminate();
    if (state.pack) recyclePacker();
    state.running = false;
    startWorker(); // a pending start waits for this worker's 'ready'
    afterStop('The analysis was cancelled.');
  }, 3000);
}

function afterStop(message) {
  clearTimeout(state.restartTimer);
  $('progress').hidden = true;
  renderOutcomes();
  if (state.pendingStart) {
    if (state.ready) startRun();
    return;
  }
  if (state.discard) { afterDiscard(); return; }
  $('engine').textContent = message;
  setState('cancelled');
}

function onMessage(m) {
  switch (m.type) {
    case 'ready':
      state.ready = true;
      state.version = m.version;
      $('version').textContent = `vmcore-report ${m.version}`;
      if (state.coverage.length === 0) {
        state.coverage = m.coverage;
        renderTracker();
      }
      $('engine').textContent = 'Ready.';
      if (state.pendingStart) startRun();
      else if (document.body.dataset.state === 'loading') setState('idle');
      break;
    case 'log':
      state.log.push(m.text);
      if (state.log.length > 500) state.log.shift();
      break;
    case 'progress':
      onProgress(m);
      break;
    case 'done':
      state.running = false;
      clearTimeout(state.restartTimer);
      if (state.pendingStart) startRun(); // new files came during the run
      else if (state.discard) { if (state.pack) recyclePacker(); afterDiscard(); }
      else if (m.summary.streamed && state.pack) awaitPack(m);
      else onDone(m);
      break;
    case 'error':
      if (state.pack) recyclePacker();
      if (m.kind === 'cancelled') {
        state.running = false;
        afterStop('The analysis was cancelled.');
        break;
      }
      state.running = false;
      clearTimeout(state.restartTimer);
      $('progress').hidden = true;
      if (state.pendingStart) { startRun(); break; }
      if (state.discard) { afterDiscard(); break; }
      renderOutcomes();
      showError(m.kind, m.message, m.detail);
      break;
    case 'fatal':
      if (state.pack) recyclePacker();
      state.running = false;
      clearTimeout(state.restartTimer);
      $('progress').hidden = true;
      renderOutcomes();
      showError(m.kind || 'crash', m.message, [m.detail, ...state.log.slice(-50)].filter(Boolean).join('\n'));
      // A fresh worker for the next attempt.
      state.worker.terminate();
      if (state.module) startWorker();
      break;
    case 'preview':
      onPreview(m);
      break;
    case 'archive':
      if (state.pack && state.pack.fallback && state.pack.done) {
        state.pack.packed = { blob: m.blob, size: m.size, sha256: m.sha256, name: m.name };
        finishPack();
        break;
      }
      setArchive(m.blob, m.name, m.size, m.sha256);
      break;
  }
}

// ---------------------------------------------------------------------------
// Progress.

const STAGES = [
  ['open', 'Reading the dump headers, symbols and types'],
  ['kernel', 'Identifying the crashed kernel'],
  ['enumerate', 'Listing the processes'],
  ['emit', 'Writing the report files'],
  ['finish', 'Writing the manifest and log'],
  ['archive', 'Packing the archive'],
];

function renderStages(current, detail = '') {
  const ol = $('stages');
  ol.replaceChildren();
  const at = STAGES.findIndex(([s]) => s === current);
  STAGES.forEach(([s, label], i) => {
    const status = at < 0 || i < at ? 'done' : i === at ? 'active' : 'pending';
    const li = el('li', { class: status, dataset: { stage: s } }, el('span', { class: 'mark', 'aria-hidden': 'true' }),
      el('span', { text: label + (i === at && detail ? ` — ${detail}` : '') }));
    if (i === at) li.setAttribute('aria-current', 'step');
    ol.append(li);
  });
}

function onProgress(m) {
  for (const o of m.outcomes || []) addOutcome(o);
  if (m.outcomes && m.outcomes.length) renderOutcomes();
  let detail = '';
  if (m.stage === 'emit' && m.total) {
    detail = `${m.done} of ${m.total}`;
    $('bar').max = m.total;
    $('bar').value = m.done;
  } else if (m.stage === 'archive' || m.stage === 'finish') {
    $('bar').max = 1;
    $('bar').value = 1;
  } else {
    $('bar').removeAttribute('value');
  }
  if (m.stage === 'archive') detail = `.${$('format').value}`;
  if (m.stage !== state.shownStage || detail !== state.shownDetail) {
    renderStages(m.stage, detail);
    state.shownStage = m.stage;
    state.shownDetail = detail;
  }
  state.lastProgress = m;
  renderStats();
}

// renderStats shows the reads so far and the time, ticking on its own so
// that a long step still shows life.
function renderStats() {
  if (!state.running) { clearInterval(state.ticker); return; }
  const m = state.lastProgress;
  const elapsed = (state.cancelling ? 'Cancelling… ' : '') + seconds(performance.now() - state.t0);
  $('stats').textContent = m
    ? `${elapsed} · read ${humanBytes(m.bytes_read)} of the files in ${m.reads} reads · analyzer memory ${humanBytes(m.wasm_memory)}`
    : elapsed;
}

// ---------------------------------------------------------------------------
// Outcomes and the coverage tracker.

const STATUS_ORDER = ['failed', 'partial', 'not-applicable', 'ok'];
const STATUS_LABEL = { ok: 'ok', partial: 'partial', failed: 'failed', 'not-applicable': 'not applicable' };

function addOutcome(o) {
  let m = state.outcomes.get(o.emitter);
  if (!m) state.outcomes.set(o.emitter, (m = new Map()));
  m.set(o.path, o);
}

// breakable shows a path in <code> that may wrap after '/' and '_' only.
function breakable(path) {
  const code = el('code');
  for (const part of path.split(/(?<=[/_])/)) code.append(part, el('wbr'));
  return code;
}

function renderTracker() {
  const tbody = $('tracker').querySelector('tbody');
  tbody.replaceChildren();
  state.rows.clear();
  for (const r of state.coverage) {
    const tr = el('tr', { tabindex: '0', dataset: { path: r.path, tracker: r.tracker, outcome: '' } },
      el('td', { class: 'file' }, breakable(r.path), el('div', { class: 'desc', text: r.desc }),
        r.note ? el('div', { class: 'note', text: `Missing: ${r.note}` }) : null, el('div', { class: 'reasons' })),
      el('td', {}, el('span', { class: `badge t-${r.tracker}`, text: r.tracker || '—' })),
      el('td', { class: 'outcome' }, el('span', { class: 'muted', text: '—' })));
    tr.addEventListener('click', () => openPreview(r.path));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openPreview(r.path); } });
    state.rows.set(r.path, tr);
    tbody.append(tr);
  }
  const done = state.coverage.filter((r) => r.tracker === 'done').length;
  $('coverage-count').textContent = `${state.coverage.length} outputs: ${done} done, ${state.coverage.length - done} partial`;
  applyFilter();
}

function renderOutcomes() {
  for (const [path, tr] of state.rows) {
    const items = state.outcomes.get(path);
    const cell = tr.querySelector('.outcome');
    const notes = tr.querySelector('.reasons');
    notes.replaceChildren();
    if (!items || items.size === 0) {
      cell.replaceChildren(el('span', { class: 'muted', text: state.running ? '…' : '—' }));
      tr.dataset.outcome = '';
      continue;
    }
    const counts = {};
    const reasons = new Set();
    for (const o of items.values()) {
      counts[o.status] = (counts[o.status] || 0) + 1;
      for (const r of o.reasons || []) reasons.add(r);
    }
    const worst = STATUS_ORDER.find((s) => counts[s]);
    tr.dataset.outcome = worst;
    const perItem = items.size > 1 || [...items.keys()][0] !== path;
    cell.replaceChildren(...STATUS_ORDER.filter((s) => counts[s]).map((s) =>
      el('span', { class: `badge s-${s}`, text: perItem ? `${STATUS_LABEL[s]} ${counts[s]}` : STATUS_LABEL[s] })));
    const shown = [...reasons].slice(0, 2);
    for (const r of shown) notes.append(el('div', { class: `reason s-${worst}`, title: r, text: r.length > 200 ? `${r.slice(0, 200)}…` : r }));
    if (reasons.size > shown.length) notes.append(el('div', { class: 'reason muted', text: `and ${reasons.size - shown.length} more (open the file or the manifest)` }));
  }
  applyFilter();
}

function applyFilter() {
  const mode = $('coverage-filter').value;
  const q = $('coverage-search').value.trim().toLowerCase();
  let shown = 0;
  for (const [path, tr] of state.rows) {
    let ok = !q || path.toLowerCase().includes(q) || tr.textContent.toLowerCase().includes(q);
    if (mode === 'problems') ok = ok && tr.dataset.outcome !== '' && tr.dataset.outcome !== 'ok';
    if (mode === 'partial-tracker') ok = ok && tr.dataset.tracker === 'partial';
    tr.hidden = !ok;
    if (ok) shown++;
  }
  $('tracker').dataset.shown = shown;
}

// ---------------------------------------------------------------------------
// Previews.

function openPreview(template, item) {
  for (const tr of state.rows.values()) tr.classList.toggle('selected', tr.dataset.path === template);
  const row = state.coverage.find((r) => r.path === template);
  const items = state.outcomes.get(template);
  $('preview').hidden = false;
  const sel = $('preview-items');
  sel.hidden = true;
  $('preview-body').textContent = '';
  if (!state.result || !items) {
    $('preview-title').textContent = template;
    $('preview-meta').textContent = row ? `${row.desc}. Mirrors ${row.mirrors}.` : '';
    $('preview-body').textContent = state.running ? 'Being written…' : 'Run a report to see this file.';
    return;
  }
  const list = [...items.values()];
  if (list.length > 1 || list[0].path !== template) {
    sel.replaceChildren(...list.map((o) => el('option', { value: o.path, text: `${o.path} (${STATUS_LABEL[o.status]})` })));
    sel.hidden = false;
    sel.dataset.template = template;
  }
  const chosen = items.get(item) || list.find((o) => o.status === 'ok' || o.status === 'partial') || list[0];
  sel.value = chosen.path;
  showItem(chosen, row);
}

function showItem(o, row) {
  $('preview-title').textContent = o.path;
  const why = (o.reasons || []).join('; ');
  if (o.status === 'failed' || o.status === 'not-applicable') {
    $('preview-meta').textContent = row ? `${row.desc}.` : '';
    $('preview-body').textContent = `Not written (${STATUS_LABEL[o.status]}): ${why}`;
    return;
  }
  requestPreview(o.path, o.status === 'partial' ? `Partial: ${why}` : '');
}

function requestPreview(path, note) {
  state.previewFor = { id: ++state.previewSeq, note };
  $('preview').hidden = false;
  $('preview-title').textContent = path;
  $('preview-meta').textContent = 'Loading…';
  send({ type: 'preview', id: state.previewSeq, path });
}

function onPreview(m) {
  if (!state.previewFor || m.id !== state.previewFor.id) return;
  if (m.missing) {
    $('preview-meta').textContent = 'This file is not in the report.';
    $('preview-body').textContent = '';
    return;
  }
  let meta = `${humanBytes(m.size)}`;
  if (m.truncated) meta += ' · the first 256 KiB are shown';
  if (m.binary) meta += ' · binary: hex dump of the start';
  if (state.previewFor.note) meta += ` · ${state.previewFor.note}`;
  $('preview-meta').textContent = meta;
  $('preview-body').textContent = m.size === 0 ? '(empty file)' : m.text;
}

// ---------------------------------------------------------------------------
// Results.

function resetResult() {
  state.result = null;
  for (const u of [state.archiveURL, state.manifestURL]) if (u) URL.revokeObjectURL(u);
  state.archiveURL = state.manifestURL = null;
  $('result').hidden = true;
  $('preview').hidden = true;
}

function onDone(m) {
  state.result = m;
  const s = m.summary;
  state.outcomes = new Map();
  for (const o of JSON.parse(m.manifest).outputs) addOutcome(o);
  renderOutcomes();
  renderStages('done');
  $('progress').hidden = true;

  const warn = $('warnings');
  warn.replaceChildren();
  const warning = (text) => warn.append(el('p', { class: 'warning', role: 'note', text }));
  if (s.kernel_unreadable) warning(`${s.kernel_unreadable} The report holds only what the dump's headers and VMCOREINFO say: every file is marked failed.`);
  if (s.truncated) warning('The dump is truncated: it ends before data it describes. Files that needed the missing part are marked failed; the rest of the report is complete.');
  if (s.incomplete) warning('The dump is marked incomplete by the tool that wrote it (it ran out of space or was interrupted). Files that needed the missing part are marked failed.');
  if (s.debug_mode === 'dump-only') warning('No vmlinux was given: symbols and types were read from the dump itself (kallsyms and the kernel\'s own BTF).');
  for (const w of s.warnings || []) warning(`Dump: ${w}`);

  const dl = $('summary');
  dl.replaceChildren();
  const item = (k, v) => { if (v) dl.append(el('dt', { text: k }), el('dd', { text: v })); };
  const c = s.counts;
  item('Kernel', `Linux ${s.release}${s.build_id ? ` (build-id ${s.build_id})` : ''}`);
  item('Machine', s.nodename || 'unknown');
  item('Crashed', s.crash_time ? `${s.crash_time.replace('T', ' ').replace('Z', ' UTC')}` : 'time unknown');
  item('Panic', s.panic_message || '—');
  item('Taint', s.taint || (s.taint === '' ? 'not tainted' : 'unknown'));
  item('Dump', `${s.format}, ${s.compression}${s.dump_level >= 0 ? `, dump level ${s.dump_level}` : ''}`);
  item('Debug info', `types from ${s.types}; symbols from ${s.symbols}`);
  item('Files', `${c.files_written} written (${c.ok} ok, ${c.partial} partial), ${c.failed} failed, ${c.not_applicable} not applicable`);
  item('Time', `${seconds(m.stats.elapsed_ms)}, ${humanBytes(m.stats.bytes_read)} read in ${m.stats.reads} reads, analyzer memory ${humanBytes(m.wasm_memory)}`);

  const man = new Blob([m.manifest], { type: 'application/json' });
  state.manifestURL = URL.createObjectURL(man);
  const ml = $('download-manifest');
  ml.href = state.manifestURL;
  ml.download = `${s.top}-manifest.json`;
  setArchive(m.blob, s.archive_name, s.archive_size, s.archive_sha256);
  $('result').hidden = false;
  $('engine').textContent = '';
  // For automation and benchmarks: the run's figures on <body>.
  Object.assign(document.body.dataset, {
    elapsedMs: m.stats.elapsed_ms, wasmMemory: m.wasm_memory, reads: m.stats.reads, bytesRead: m.stats.bytes_read,
    stages: Object.entries(m.stats.stages_ms || {}).map(([k, v]) => `${k}@${v}`).join(' '),
    packedBy: m.packedBy || 'analyzer', // which worker compressed the archive
    readMs: Math.round(m.read_ms || 0), // time the analyzer spent reading the files
  });
  setState('done');
}

function setArchive(blob, name, size, sha) {
  if (state.archiveURL) URL.revokeObjectURL(state.archiveURL);
  state.archiveURL = URL.createObjectURL(blob);
  const a = $('download-archive');
  a.href = state.archiveURL;
  a.download = name;
  a.textContent = `Download ${name}`;
  a.classList.remove('busy');
  a.removeAttribute('aria-disabled');
  $('archive-info').textContent = `${humanBytes(size)} · SHA-256 ${sha}`;
}

// ---------------------------------------------------------------------------
// Errors.

function showError(kind, message, detail) {
  $('error').hidden = false;
  $('error').dataset.kind = kind || '';
  $('error-message').textContent = message;
  $('error-detail').textContent = detail || '(none)';
  $('error').querySelector('details').hidden = !detail;
  setState('error');
}

function hideError() { $('error').hidden = true; }

// ---------------------------------------------------------------------------
// Wiring.

function wire() {
  const dz = $('dropzone');
  const input = $('files');
  input.addEventListener('change', () => { addFiles(input.files).finally(() => { input.value = ''; }); });
  for (const t of ['dragenter', 'dragover']) {
    dz.addEventListener(t, (e) => { e.preventDefault(); dz.classList.add('over'); });
  }
  for (const t of ['dragleave', 'drop']) dz.addEventListener(t, () => dz.classList.remove('over'));
  dz.addEventListener('drop', (e) => { e.preventDefault(); addFiles(e.dataTransfer.files); });
  // A file dropped beside the zone must not make the browser open it.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => { e.preventDefault(); if (e.dataTransfer.files.length) addFiles(e.dataTransfer.files); });

  $('clear').addEventListener('click', clearFiles);
  $('cancel').addEventListener('click', () => { state.pendingStart = false; cancelRun(); });
  $('format').addEventListener('change', () => {
    if (!state.result) return;
    const a = $('download-archive');
    a.classList.add('busy');
    a.setAttribute('aria-disabled', 'true');
    a.textContent = `Packing .${$('format').value}…`;
    send({ type: 'archive', format: $('format').value });
  });
  $('download-archive').addEventListener('click', (e) => {
    if (!state.archiveURL || $('download-archive').classList.contains('busy')) e.preventDefault();
  });
  $('download-manifest').addEventListener('click', (e) => { if (!state.manifestURL) e.preventDefault(); });
  $('view-log').addEventListener('click', () => {
    if (!state.result) return;
    for (const tr of state.rows.values()) tr.classList.remove('selected');
    $('preview-items').hidden = true;
    requestPreview(state.result.summary.log_path, '');
  });
  $('preview-items').addEventListener('change', (e) => {
    const t = e.target.dataset.template;
    const o = state.outcomes.get(t)?.get(e.target.value);
    if (o) showItem(o, state.coverage.find((r) => r.path === t));
  });
  $('preview-close').addEventListener('click', () => {
    $('preview').hidden = true;
    for (const tr of state.rows.values()) tr.classList.remove('selected');
  });
  $('coverage-filter').addEventListener('change', applyFilter);
  $('coverage-search').addEventListener('input', applyFilter);
}

async function boot() {
  wire();
  setState('loading');
  if (typeof WebAssembly === 'undefined' || typeof Worker === 'undefined') {
    showError('browser', 'This browser cannot run the analyzer: it needs WebAssembly and web workers.', '');
    return;
  }
  try {
    state.module = await compileWasm();
  } catch (e) {
    showError('load', `The analyzer could not be loaded: ${e.message}. Serve this folder from a web server (opening index.html as a file does not work).`, String(e.stack || e));
    return;
  }
  startWorker();
  // ?packer=off: the analyzer packs the archive itself, at the end (for
  // comparisons and tests).
  if (new URLSearchParams(location.search).get('packer') !== 'off') startPacker();
}

boot();
