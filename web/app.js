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
  return n === 1 ? '1 byte' : `${n} bytes`;
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
  // The helper: a third worker that makes outputs of the same report from
  // the end of its plan while the analyzer makes them from the start
  // (report.Share); the analyzer writes them all, as it would alone.
  helper: null,
  helperReady: false,
  helping: false, // the helper works for the current run
  helped: null, // its last 'helped' message
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

function setState(s) {
  document.body.dataset.state = s;
  if (typeof renderRunAgain === 'function' && $('run-again')) renderRunAgain();
}

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
    await kdumpIdentity(c, b, dv);
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
      else if (is64 && le) await elfCoreIdentity(c, dv);
    } else if (type === 2) {
      c.kind = `ELF executable (${arch})`;
      if (machine === 62 && is64) {
        c.role = 'vmlinux';
        c.kind = 'vmlinux (x86_64 ELF executable)';
        if (le) await vmlinuxBuildID(c, dv);
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

// Identity: the release and build-id of a dump (VMCOREINFO OSRELEASE and
// BUILD-ID) and the build-id of a vmlinux (its NT_GNU_BUILD_ID note), read
// with a few small slices, so that a vmlinux that does not belong to the
// dump is named before a run. Anything unexpected leaves them unset: the
// analyzer checks again, thoroughly.

async function slice(file, off, len) {
  if (off < 0 || len <= 0 || len > (1 << 20) || off + len > file.size) return null;
  return new Uint8Array(await file.slice(off, off + len).arrayBuffer());
}

function hex(b) { return [...b].map((x) => x.toString(16).padStart(2, '0')).join(''); }

function vmcoreinfoFields(c, text) {
  const m = /(?:^|\n)OSRELEASE=([^\n]*)/.exec(text);
  if (m) c.release = m[1];
  const id = /(?:^|\n)BUILD-ID=([0-9a-f]+)/.exec(text);
  if (id) c.buildId = id[1];
}

// kdump: the sub-header (one block after the header) holds
// offset_vmcoreinfo and size_vmcoreinfo (header_version >= 3).
async function kdumpIdentity(c, b, dv) {
  try {
    const version = dv.getInt32(8, true), blockSize = dv.getInt32(428, true);
    if (version < 3 || blockSize <= 0 || blockSize > (1 << 20)) return;
    const sub = await slice(c.file, blockSize, 48);
    if (!sub) return;
    const sv = new DataView(sub.buffer);
    const off = Number(sv.getBigUint64(32, true)), size = Number(sv.getBigUint64(40, true));
    const vi = await slice(c.file, off, size);
    if (vi) vmcoreinfoFields(c, te.decode(vi));
  } catch { /* leave unset */ }
}

// notes walks ELF notes: (namesz, descsz, type, name, desc), 4-byte aligned.
function* notes(b) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 0;
  while (o + 12 <= b.length) {
    const nsz = dv.getUint32(o, true), dsz = dv.getUint32(o + 4, true), type = dv.getUint32(o + 8, true);
    const name = o + 12, desc = name + ((nsz + 3) & ~3), next = desc + ((dsz + 3) & ~3);
    if (next > b.length || next <= o) return;
    yield { name: cstr(b, name, nsz), type, desc: b.subarray(desc, desc + dsz) };
    o = next;
  }
}

// ELF core: the PT_NOTE segments hold a VMCOREINFO note.
async function elfCoreIdentity(c, dv) {
  try {
    const phoff = Number(dv.getBigUint64(32, true)), phentsize = dv.getUint16(54, true), phnum = dv.getUint16(56, true);
    const ph = await slice(c.file, phoff, phentsize * phnum);
    if (!ph || phentsize < 56) return;
    const pv = new DataView(ph.buffer);
    for (let i = 0; i < phnum; i++) {
      if (pv.getUint32(i * phentsize, true) !== 4) continue; // PT_NOTE
      const off = Number(pv.getBigUint64(i * phentsize + 8, true)), size = Number(pv.getBigUint64(i * phentsize + 32, true));
      const nb = await slice(c.file, off, size);
      if (!nb) continue;
      for (const n of notes(nb)) if (n.name === 'VMCOREINFO') vmcoreinfoFields(c, te.decode(n.desc));
    }
  } catch { /* leave unset */ }
}

// vmlinux: the section headers (at the end of the file) and the small
// note sections (.notes) hold NT_GNU_BUILD_ID (3).
async function vmlinuxBuildID(c, dv) {
  try {
    const shoff = Number(dv.getBigUint64(40, true)), shentsize = dv.getUint16(58, true), shnum = dv.getUint16(60, true);
    const sh = await slice(c.file, shoff, shentsize * shnum);
    if (!sh || shentsize < 64) return;
    const sv = new DataView(sh.buffer);
    for (let i = 0; i < shnum; i++) {
      if (sv.getUint32(i * shentsize + 4, true) !== 7) continue; // SHT_NOTE
      const off = Number(sv.getBigUint64(i * shentsize + 24, true)), size = Number(sv.getBigUint64(i * shentsize + 32, true));
      const nb = await slice(c.file, off, Math.min(size, 1 << 16));
      if (!nb) continue;
      for (const n of notes(nb)) if (n.name === 'GNU' && n.type === 3) { c.buildId = hex(n.desc); return; }
    }
  } catch { /* leave unset */ }
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
  if (dumps.length) {
    state.dumps = dumps;
    // A vmlinux kept from before is checked against the new dump.
    if (state.vmlinux && !vmlinuxes.length) state.vmlinux.kept = true;
  }
  if (vmlinuxes.length) {
    state.vmlinux = vmlinuxes[0];
    for (const extra of vmlinuxes.slice(1)) {
      extra.role = 'ignored';
      extra.note = `only one vmlinux is used (${vmlinuxes[0].name})`;
    }
  }
  state.ignored = classified.filter((c) => c.role === 'ignored');
  state.dumps.sort((a, b) => (a.split && b.split ? (a.split.start < b.split.start ? -1 : 1) : 0));
  inputsChanged();
}

// inputsChanged shows the files and starts a run when they make one.
function inputsChanged() {
  renderFiles();
  resetResult();
  const problem = inputProblem();
  if (problem) {
    if (state.running) { state.pendingStart = false; state.discard = true; cancelRun(); }
    $('progress').hidden = true;
    showError(problem.kind, problem.message, '');
    return;
  }
  if (state.dumps.length === 0) {
    hideError();
    if (state.running) { state.discard = true; cancelRun(); }
    $('engine').textContent = state.vmlinux ? 'vmlinux recognised. Now add the crash dump.' : (state.ready ? 'Ready.' : 'Loading the analyzer…');
    setState(state.ready ? 'idle' : 'loading');
    return;
  }
  startRun();
}

// differentKernels says whether the dumps come from different kernels
// (their release or build-id differ), as far as their headers tell.
function differentKernels() {
  const rel = new Set(state.dumps.map((d) => d.release).filter(Boolean));
  const ids = new Set(state.dumps.map((d) => d.buildId).filter(Boolean));
  return rel.size > 1 || ids.size > 1;
}

function dumpLabel(d) { return `${d.name}${d.release ? ` (Linux ${d.release})` : ''}`; }

// staleVmlinux says whether the vmlinux's build-id differs from the dump's.
function staleVmlinux() {
  const v = state.vmlinux, d = state.dumps[0];
  return Boolean(v && d && v.buildId && d.buildId && v.buildId !== d.buildId);
}

// inputProblem says why the chosen files cannot make a report: {kind,
// message}, or null.
function inputProblem() {
  if (state.dumps.length === 0 && !state.vmlinux) {
    if (state.ignored.length === 0) return null;
    const why = state.ignored.map((c) => (c.kind === 'not recognised'
      ? `${c.name} is neither a crash dump (ELF core, kdump-compressed or flattened) nor a vmlinux`
      : `${c.name} is ${article(c.kind)}: ${c.note}`)).join('; ');
    return { kind: 'input', message: `None of the files is a crash dump. ${why}.` };
  }
  if (state.dumps.length > 1) {
    if (differentKernels()) {
      return { kind: 'different-kernels', message: `These dumps come from different kernels: ${state.dumps.map(dumpLabel).join(', ')}. ` +
        'One report reads one dump: remove the ones you do not want (×), then the analysis starts.' };
    }
    const whole = state.dumps.filter((d) => !d.split);
    if (whole.length) {
      return { kind: 'input', message: `Several dumps were given (${state.dumps.map((d) => d.name).join(', ')}), but ${whole.map((d) => d.name).join(', ')} ` +
        `${whole.length > 1 ? 'are whole dumps' : 'is a whole dump'}, not ${whole.length > 1 ? 'parts' : 'a part'} of a split dump. ` +
        'Remove the ones you do not want (×): one dump, or every part of one split dump.' };
    }
  }
  if (staleVmlinux()) {
    const v = state.vmlinux, d = state.dumps[0];
    return { kind: 'vmlinux-mismatch', message: `The vmlinux ${v.name}${v.kept ? ', kept from the previous run,' : ''}` +
      `${v.release ? ` (Linux ${v.release})` : ''} does not belong to the crashed kernel: the dump ${d.name} is from ` +
      `${d.release ? `Linux ${d.release}` : 'another kernel'} (build-id ${d.buildId}), the vmlinux has build-id ${v.buildId}. ` +
      `Remove the vmlinux (×) to read the dump alone, or add the vmlinux of ${d.release ? `Linux ${d.release}` : 'the crashed kernel'}` +
      `${d.release ? ` (on Debian: package linux-image-${d.release}-dbg, file /usr/lib/debug/boot/vmlinux-${d.release})` : ''}.` };
  }
  return null;
}

function article(kind) { return /^[aeiou]/i.test(kind) ? `an ${kind}` : `a ${kind}`; }

function renderFiles() {
  const ul = $('filelist');
  ul.replaceChildren();
  const mixed = differentKernels();
  const stale = staleVmlinux();
  const row = (c, use, cls, list) => ul.append(el('li', { class: `file ${cls}` },
    el('div', { class: 'file-main' },
      el('span', { class: 'fname', text: c.name }),
      el('span', { class: 'fsize muted', text: humanBytes(c.size) })),
    el('div', { class: 'kind', text: c.kind }),
    el('div', { class: 'usage', text: use }),
    el('button', { type: 'button', class: 'remove', 'aria-label': `Remove ${c.name}`, title: `Remove ${c.name}`,
      onclick: () => removeFile(list, c) }, '×')));
  state.dumps.forEach((c, i) => {
    let use = 'the dump', cls = 'used';
    if (mixed) { use = 'not used: from another kernel than the other dump'; cls = 'conflict'; }
    else if (state.dumps.length > 1 && state.dumps.every((d) => d.split)) use = `dump, part ${i + 1} of ${state.dumps.length}`;
    else if (state.dumps.length > 1) { use = 'not used: one dump at a time'; cls = 'conflict'; }
    row(c, use, cls, 'dumps');
  });
  if (state.vmlinux) {
    row(state.vmlinux, stale ? 'not used: does not match the dump' : 'the vmlinux (symbols and types)', stale ? 'conflict' : 'used', 'vmlinux');
  }
  for (const c of state.ignored) row(c, `not used: ${c.note}`, 'ignored', 'ignored');
  const any = ul.children.length > 0;
  ul.hidden = !any;
  $('file-actions').hidden = !any;
  renderRunAgain();
}

// removeFile takes one file out; the rest run again if they make a report.
function removeFile(list, c) {
  if (list === 'dumps') state.dumps = state.dumps.filter((d) => d !== c);
  else if (list === 'vmlinux') state.vmlinux = null;
  else {
    state.ignored = state.ignored.filter((d) => d !== c);
    renderFiles();
    if (!inputProblem() && document.body.dataset.state === 'error' && $('error').dataset.kind === 'input') hideError();
    return;
  }
  inputsChanged();
}

// renderRunAgain offers to run the same files again after a cancel or an
// error.
function renderRunAgain() {
  const st = document.body.dataset.state;
  $('run-again').hidden = !(state.dumps.length && !state.running && !inputProblem() && (st === 'cancelled' || st === 'error'));
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

// A helper pays when it has a core of its own: the analyzer, the packer
// and V8's compiler threads already keep about 1.6 cores busy (make
// browser-bench on a 2-core machine: the same times with and without).
// ?helper=on or off decides instead (tests, comparisons).
function wantHelper() {
  const q = new URLSearchParams(location.search).get('helper');
  if (q === 'on' || q === 'off') return q === 'on';
  return (navigator.hardwareConcurrency || 1) >= 4;
}

function startHelper() {
  state.helperReady = false;
  document.body.dataset.helper = 'starting';
  state.helper = newWorker(() => state.helper, onHelperMessage);
}

function onHelperMessage(m) {
  switch (m.type) {
    case 'ready':
      state.helperReady = true;
      document.body.dataset.helper = 'ready'; // for tests and benchmarks
      break;
    case 'helped':
      state.helped = m;
      state.helping = false;
      state.helperReady = true;
      document.body.dataset.helperMade = m.made; // for tests and benchmarks
      document.body.dataset.helperWasmMemory = m.wasm_memory;
      document.body.dataset.helped = JSON.stringify({ elapsed_ms: m.elapsed_ms, ...m.share, error: m.error });
      break;
    case 'error':
    case 'fatal':
      // The analyzer makes whatever the helper had taken on; later runs
      // go without a helper.
      if (state.helping && state.running) send({ type: 'peer-gone' });
      state.helper.terminate();
      state.helper = null;
      state.helperReady = false;
      state.helping = false;
      break;
  }
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
    case 'fact': {
      // A report file the triage view reads, copied from the stream while
      // the run writes it: show what it tells at once.
      if (!state.running || !state.pack) break;
      const role = Object.keys(TRIAGE_FILES).find((r) => TRIAGE_FILES[r] === m.path);
      if (!role) break;
      state.liveFiles[role] = m.text;
      document.body.dataset.liveFacts = Object.keys(state.liveFiles).length; // for tests
      // Files that arrive together are drawn once, at the next frame
      // (unless the finished report's view is there by then).
      if (!state.liveFrame) {
        state.liveFrame = requestAnimationFrame(() => {
          state.liveFrame = 0;
          if (state.result || !state.pack) return;
          renderTriageLive($('triage-body'), state.liveFiles, state.dumps);
        });
      }
      break;
    }
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

// awaitPack holds a finished report until its archive is packed. The
// triage view's files are asked for at once: the analyzer answers while
// the packer compresses the end of the stream (the manifest comes last).
function awaitPack(m) {
  const p = state.pack;
  p.done = m;
  renderStages('archive', `.${$('format').value}`);
  requestFiles(TRIAGE_FILES, (files) => {
    if (state.pack !== p) return;
    p.files = files;
    finishPack();
  });
  if (p.fallback) send({ type: 'archive', format: $('format').value });
}

function finishPack() {
  const p = state.pack;
  if (!p || !p.done || !p.packed || !p.files) return;
  const m = p.done;
  m.blob = p.packed.blob;
  m.packedBy = p.packed.name ? 'analyzer' : 'packer';
  Object.assign(m.summary, {
    archive_size: p.packed.size, archive_sha256: p.packed.sha256,
    archive_name: p.packed.name || `${m.summary.top}.${p.packed.format}`,
  });
  onDone(m, p.files);
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
  state.liveFiles = {};
  document.body.dataset.liveFacts = 0;
  renderTriagePending($('triage-body'), state.dumps);
  $('triage').hidden = false;
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
    state.packer.postMessage({ type: 'pack', port: ch.port2, format: $('format').value, keep: Object.values(TRIAGE_FILES) }, [ch.port2]);
    state.packerReady = false;
    state.pack = { done: null, packed: null, fallback: false };
    packPort = ch.port1;
  }
  const inputs = {
    dump: state.dumps.map((c) => c.file),
    vmlinux: state.vmlinux ? state.vmlinux.file : null,
    // ?types=dwarf reads types from the vmlinux's DWARF instead of its BTF
    // (for comparisons and benchmarks; BTF is faster and the default).
    types: new URLSearchParams(location.search).get('types') === 'dwarf' ? 'dwarf' : '',
  };
  let peerPort = null;
  delete document.body.dataset.helperMade;
  if (state.helperReady) {
    const ch = new MessageChannel();
    state.helper.postMessage({ type: 'help', ...inputs, peerPort: ch.port2 }, [ch.port2]);
    state.helperReady = false;
    state.helping = true;
    peerPort = ch.port1;
  }
  send({ type: 'start', ...inputs, format: $('format').value, packPort, peerPort },
    [packPort, peerPort].filter(Boolean));
}

function cancelRun() {
  if (!state.running) return;
  $('cancel').disabled = true;
  state.cancelling = true;
  renderStats();
  send({ type: 'cancel' });
  if (state.helping) state.helper.postMessage({ type: 'cancel' });
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
    case 'files':
      onFiles(m);
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
  if (m.outcomes && m.outcomes.length) {
    // Only the rows these outcomes belong to change: redrawing every row
    // at each message was most of the page's own work during a run.
    const changed = new Set();
    for (const o of m.outcomes) { addOutcome(o); changed.add(o.emitter); }
    renderOutcomes(changed);
  }
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

// renderOutcomes shows each row's outcomes in this run; only the rows of
// the templates in `only` when it is given.
function renderOutcomes(only) {
  for (const [path, tr] of state.rows) {
    if (only && !only.has(path)) continue;
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
    for (const r of shown) notes.append(reasonNode(r, worst));
    if (reasons.size > shown.length) notes.append(el('div', { class: 'reason muted', text: `and ${reasons.size - shown.length} more (open the file or the manifest)` }));
  }
  applyFilter();
}

// reasonNode shows a reason: short ones as they are; a long or technical
// one (addresses, type expressions) by its first words, the rest behind a
// disclosure.
function reasonNode(r, status) {
  const technical = r.length > 160 || /container_of|\*\(|0x[0-9a-f]{6,}|struct \w+ \*/.test(r);
  if (!technical) return el('div', { class: `reason s-${status}`, text: r });
  const head = r.split(': ')[0];
  return el('details', { class: `reason s-${status}` }, el('summary', { text: `${head}: could not be read (technical detail)` }),
    el('code', { class: 'detail', text: r }));
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
  state.filesFor = null;
  for (const u of [state.archiveURL, state.manifestURL]) if (u) URL.revokeObjectURL(u);
  state.archiveURL = state.manifestURL = null;
  $('result').hidden = true;
  $('preview').hidden = true;
  $('triage').hidden = true;
  $('triage-state').replaceChildren();
  $('triage-body').replaceChildren();
  $('announce').textContent = '';
}

// requestFiles asks the worker for report files (the last 256 KiB of
// each), then calls back with {role: text or null}.
function requestFiles(roles, then) {
  const id = ++state.previewSeq;
  state.filesFor = { id, roles, then };
  send({ type: 'files', id, paths: Object.values(roles) });
}

function onFiles(m) {
  const req = state.filesFor;
  if (!req || m.id !== req.id) return;
  state.filesFor = null;
  const byPath = new Map(m.files.map((f) => [f.path, f]));
  const out = {};
  for (const [role, path] of Object.entries(req.roles)) {
    const f = byPath.get(path);
    out[role] = f && !f.missing && !f.binary ? f.text : null;
  }
  req.then(out);
}

// onDone shows a finished report; files are the triage view's, when they
// were asked for already.
function onDone(m, files) {
  state.result = m;
  const s = m.summary;
  const manifest = JSON.parse(m.manifest);
  state.manifest = manifest;
  // What the run learnt about the inputs: a later dump is checked against it.
  if (state.vmlinux && manifest.debug_info.mode === 'vmlinux') {
    state.vmlinux.release = manifest.kernel.release;
    state.vmlinux.kept = false;
  }
  for (const d of state.dumps) if (!d.release) d.release = manifest.kernel.release;
  state.outcomes = new Map();
  for (const o of manifest.outputs) addOutcome(o);
  renderOutcomes();
  renderStages('done');
  $('progress').hidden = true;

  const warn = $('warnings');
  warn.replaceChildren();
  const warning = (text) => warn.append(el('p', { class: 'warning', role: 'note', text }));
  if (s.debug_mode === 'dump-only' && !s.kernel_unreadable) warning('No vmlinux was given: symbols and types were read from the dump itself (kallsyms and the kernel\'s own BTF).');
  for (const w of s.warnings || []) warning(`The dump: ${w}`);

  const dl = $('summary');
  dl.replaceChildren();
  const item = (k, v) => { if (v) dl.append(el('dt', { text: k }), el('dd', { text: v })); };
  const c = s.counts;
  item('Kernel', `Linux ${s.release}${s.build_id ? ` (build-id ${s.build_id})` : ''}`);
  item('Machine', s.nodename || 'unknown');
  item('Crashed', s.crash_time ? `${s.crash_time.replace('T', ' ').replace('Z', ' UTC')}` : 'time unknown');
  item('Panic', s.panic_message || (s.kernel_unreadable ? 'unknown (the kernel log could not be read)' : 'none in the kernel log'));
  item('Taint', s.taint);
  item('Dump', `${s.format}, ${s.compression}${s.dump_level >= 0 ? `, dump level ${s.dump_level}` : ''}`);
  item('Debug info', s.types || s.symbols ? `types from ${s.types || 'nowhere'}; symbols from ${s.symbols || 'nowhere'}` : 'none could be read (the kernel\'s memory is unreadable)');
  item('Files', `${c.files_written} written (${c.ok} ok, ${c.partial} partial), ${c.failed} failed, ${c.not_applicable} not applicable`);
  item('Time', `${seconds(m.stats.elapsed_ms)}, ${humanBytes(m.stats.bytes_read)} read in ${m.stats.reads} reads, analyzer memory ${humanBytes(m.wasm_memory)}`);

  const man = new Blob([m.manifest], { type: 'application/json' });
  state.manifestURL = URL.createObjectURL(man);
  const ml = $('download-manifest');
  ml.href = state.manifestURL;
  ml.download = `${s.top}-manifest.json`;
  setArchive(m.blob, s.archive_name, s.archive_size, s.archive_sha256);
  $('engine').textContent = '';
  // For automation and benchmarks: the run's figures on <body>.
  Object.assign(document.body.dataset, {
    elapsedMs: m.stats.elapsed_ms, wasmMemory: m.wasm_memory, reads: m.stats.reads, bytesRead: m.stats.bytes_read,
    stages: Object.entries(m.stats.stages_ms || {}).map(([k, v]) => `${k}@${v}`).join(' '),
    packedBy: m.packedBy || 'analyzer', // which worker compressed the archive
    readMs: Math.round(m.read_ms || 0), // time the analyzer spent reading the files
    share: m.stats.share ? JSON.stringify(m.stats.share) : '', // how the helper's sharing went
  });
  const show = (got) => {
    if (state.result !== m) return;
    showTriage(manifest, got, s);
    $('result').hidden = false;
    setState('done');
  };
  if (files) show(files);
  else requestFiles(TRIAGE_FILES, show);
}

// showTriage renders the triage view of a finished report, moves the
// focus to it and announces it.
function showTriage(manifest, files, s) {
  const f = triageFacts(manifest, files);
  renderReportState(manifest, s);
  renderTriage($('triage-body'), f, manifest, s);
  $('triage').hidden = false;
  $('triage').dataset.partial = manifest.kernel.unreadable && manifest.kernel.unreadable.memory ? 'true' : 'false';
  const what = f.panic ? `Kernel panic: ${f.panic}` : (manifest.kernel.unreadable.memory ? 'Only the dump\'s headers could be read' : 'No panic message in the kernel log');
  const who = f.task ? ` in ${f.task.comm} (PID ${f.task.pid})${f.cpu !== null ? ` on CPU ${f.cpu}` : ''}` : '';
  $('announce').textContent = `The report is ready. ${what}${who}.`;
  const hd = $('triage-h');
  hd.focus({ preventScroll: true });
  $('triage').scrollIntoView({ block: 'start', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
}

// renderReportState says how complete the report is, in sentences, with
// what to do; the technical detail stays behind a disclosure.
function renderReportState(manifest, s) {
  const box = $('triage-state');
  box.replaceChildren();
  const d = manifest.inputs.dump, k = manifest.kernel, c = manifest.summary;
  const unreadable = k.unreadable && k.unreadable.memory;
  const todo = [];
  for (const p of d.parts || []) {
    if (!p.truncated) continue;
    todo.push(p.want_size > p.size
      ? `Copy ${p.name} again: it is truncated at ${humanBytes(p.size)} of the ${humanBytes(p.want_size)} its headers describe (${Math.floor(100 * p.size / p.want_size)} %).`
      : `Copy ${p.name} again: it ends before data its headers describe.`);
  }
  if (d.incomplete) todo.push('The tool that wrote the dump marked it incomplete (it ran out of space or was interrupted): take the next dump to a disk with room.');
  if (unreadable || d.truncated || d.incomplete) {
    if (d.dump_level > 1) todo.push(`If no complete copy exists, make the dump again: makedumpfile -l -d 1 keeps every page the report can use (this one was made with -d ${d.dump_level}).`);
    if (manifest.debug_info.mode !== 'vmlinux') {
      todo.push(`Add the crashed kernel's vmlinux${k.release ? ` (on Debian: package linux-image-${k.release}-dbg)` : ''}: symbols and types then come from it rather than from the kernel's memory, so more can be read.`);
    }
  }
  if (!unreadable && !todo.length && !c.failed) return;
  const cls = unreadable ? 'state partial severe' : 'state partial';
  const title = unreadable ? 'Partial report: only the dump\'s headers could be read'
    : `Partial report: ${c.failed} of ${c.outputs} outputs could not be made`;
  const body = [el('h3', { text: title })];
  if (unreadable) {
    const known = [k.release && `the kernel (Linux ${k.release}${k.build_id ? `, build-id ${k.build_id}` : ''})`, k.nodename && `the machine's name (${k.nodename})`,
      d.nr_cpus > 0 && `its ${d.nr_cpus} CPUs`, `the dump's format (${d.format}, ${d.compression}${d.dump_level >= 0 ? `, dump level ${d.dump_level}` : ''})`].filter(Boolean);
    body.push(el('p', { text: `Could be read: ${known.join(', ')}.` }));
    body.push(el('p', { text: `Could not be read: the crashed kernel's memory, so there is no panic message, kernel log, process list or memory figure; all ${c.outputs} outputs failed.` }));
  } else {
    body.push(el('p', { text: `${c.files_written} files were written (${c.ok} complete, ${c.partial} with values missing); ${c.failed} could not be made. The coverage list below says why for each.` }));
  }
  if (todo.length) body.push(el('p', { class: 'todo-h', text: 'What to do:' }), el('ul', { class: 'todo' }, ...todo.map((t) => el('li', { text: t }))));
  const tech = [];
  for (const [field, why] of Object.entries(k.unreadable || {})) tech.push(`${field}: ${why}`);
  if (tech.length) body.push(el('details', {}, el('summary', { text: 'Technical details' }), el('pre', { text: tech.join('\n') })));
  box.append(el('div', { class: cls, role: 'note' }, ...body));
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
  $('run-again').addEventListener('click', () => { if (!inputProblem()) startRun(); });
  $('sample').addEventListener('click', loadSample);
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

// The sample: a server that has one (cmd/devserver -sample-dump) lists it
// in sample/sample.json; the button fetches the files from the same
// origin, and they go through the same path as dropped files.
async function probeSample() {
  try {
    const r = await fetch('sample/sample.json', { cache: 'no-store' });
    if (!r.ok) return;
    const s = await r.json();
    if (!s || !Array.isArray(s.files) || !s.files.length) return;
    state.sample = s;
    const total = s.files.reduce((a, f) => a + f.size, 0);
    $('sample-info').textContent = `${s.title || 'a crash dump'}, ${humanBytes(total)} from this server`;
    $('sample-actions').hidden = false;
  } catch { /* no sample here */ }
}

async function loadSample() {
  const s = state.sample;
  if (!s) return;
  const b = $('sample');
  b.disabled = true;
  $('engine').textContent = 'Fetching the sample…';
  try {
    const files = await Promise.all(s.files.map(async (f) => {
      const r = await fetch(`sample/${encodeURIComponent(f.name)}`);
      if (!r.ok) throw new Error(`${f.name}: HTTP ${r.status}`);
      return new File([await r.blob()], f.name);
    }));
    await addFiles(files);
  } catch (e) {
    showError('sample', `The sample could not be fetched: ${e.message}.`, '');
  } finally {
    b.disabled = false;
  }
}

async function boot() {
  wire();
  probeSample();
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
  // ?helper=off: the analyzer makes every output itself.
  if (wantHelper()) startHelper();
}

boot();
