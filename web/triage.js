// The triage view: what happened, read from the report's own files (the
// kernel log, /proc/meminfo, slabinfo, ps, the stack-trace outputs) and its
// manifest. Pure functions that parse text, and one render function that
// builds the DOM (text is always set as text). Loaded before app.js; no
// network, no framework.
'use strict';

// The report files the triage view reads, by role.
const TRIAGE_FILES = {
  dmesg: 'sos_commands/kernel/dmesg',
  meminfo: 'proc/meminfo',
  slabinfo: 'proc/slabinfo',
  swaps: 'proc/swaps',
  loadavg: 'proc/loadavg',
  uptime: 'proc/uptime',
  ps: 'sos_commands/process/ps_-elfL',
  sys: 'sos_commands/vmcore/sys',
  bt: 'sos_commands/vmcore/bt_-a',
  blocked: 'sos_commands/vmcore/bt_blocked',
};

// Taint letters in the kernel's order (kernel/panic.c taint_flags[]), in
// words.
const TAINTS = {
  P: 'a proprietary (non-GPL) module was loaded',
  F: 'a module was force-loaded',
  S: 'the machine runs outside its specification (SMP unsafe or similar)',
  R: 'a module was force-unloaded',
  M: 'the processor reported a machine-check exception',
  B: 'a bad page was found (memory corruption)',
  U: 'a user or tool asked to taint the kernel',
  D: 'the kernel died recently (an oops or BUG happened before)',
  A: 'an ACPI table was overridden',
  W: 'the kernel issued a warning before',
  C: 'a staging driver was loaded',
  I: 'a firmware bug was worked around',
  O: 'an out-of-tree module was loaded',
  E: 'an unsigned module was loaded',
  L: 'a soft lockup happened before',
  K: 'the kernel was live-patched',
  X: 'an auxiliary (distribution-defined) taint',
  T: 'the kernel was built with struct randomization',
  N: 'an in-kernel test was run',
};

// Task states of ps's S column, in words.
const TASK_STATES = {
  R: 'running', S: 'sleeping', D: 'blocked (uninterruptible)', I: 'idle kernel threads', Z: 'zombies',
  T: 'stopped', t: 'traced', X: 'dead', P: 'parked', W: 'waking', K: 'wakekill',
};

// splitLog turns `dmesg` text into lines {ts, text}.
function splitLog(text) {
  const out = [];
  for (const raw of (text || '').split('\n')) {
    if (raw === '') continue;
    const m = /^\[\s*(\d+\.\d+)\]\s?(.*)$/.exec(raw);
    out.push(m ? { ts: m[1], text: m[2], raw } : { ts: '', text: raw, raw });
  }
  return out;
}

// Lines that open an oops or panic report.
const CRASH_START = /^(BUG: |Oops: |general protection fault|kernel BUG at |Unable to handle |WARNING: CPU: |sysrq: Trigger a crash|watchdog: BUG: soft lockup|Watchdog detected hard LOCKUP|INFO: task .* blocked for more than|INFO: rcu_\w+ (self-)?detected stall|Out of memory|Kernel panic - not syncing)/;
const FRAME = /^(\? )?([\w.$]+)\+0x[0-9a-f]+\/0x[0-9a-f]+( \[[\w-]+\])?$/;

// findCrash locates the oops/panic block of the log: the lines [start, end]
// and what they say (panicking task and CPU, the call trace).
function findCrash(lines) {
  let panic = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i].text.startsWith('Kernel panic - not syncing')) { panic = i; break; }
  }
  const anchor = panic >= 0 ? panic : lines.length - 1;
  let start = -1;
  for (let i = anchor; i >= 0 && i > anchor - 400; i--) {
    if (CRASH_START.test(lines[i].text)) {
      start = i;
      // A report opens with several such lines (BUG:, then Oops:): keep
      // going while they are close together.
      let j = i - 1;
      while (j >= 0 && j >= i - 6) {
        if (CRASH_START.test(lines[j].text)) { start = j; i = j; }
        j--;
      }
      break;
    }
  }
  if (start < 0 && panic < 0) return null;
  if (start < 0) start = panic;
  let end = lines.length - 1;
  for (let i = Math.max(start, panic); i < lines.length; i++) {
    if (lines[i].text.startsWith('---[ end ')) { end = i; break; }
  }
  const crash = { start, end, panicLine: panic, task: null, trace: [], rip: '' };
  for (let i = start; i <= end; i++) {
    const t = lines[i].text;
    const m = /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.+?)(?: (?:Not tainted|Tainted: [A-Z ]+)\b.*)?$/.exec(t);
    if (m && !crash.task) crash.task = { cpu: Number(m[1]), pid: Number(m[2]), comm: m[3].trim() };
    const rip = /^RIP: 0010:(\S+)/.exec(t);
    if (rip && !crash.rip) crash.rip = rip[1];
  }
  // The first call trace after the start: its frames until </TASK> or the
  // end of the block.
  for (let i = start; i <= end; i++) {
    if (lines[i].text.trim() !== 'Call Trace:') continue;
    for (let j = i + 1; j <= end; j++) {
      const t = lines[j].text.trim();
      if (t === '</TASK>' || t.startsWith('---[ end')) break;
      const f = FRAME.exec(t);
      if (f) crash.trace.push({ fn: f[2], text: t, unreliable: Boolean(f[1]) });
      else if (/^<\/?(TASK|IRQ|NMI|SOFTIRQ)>$/.test(t)) continue;
      else if (/^(RIP|RSP|RAX|RDX|RBP|R\d+|Code):/.test(t)) continue;
      else if (crash.trace.length) break;
    }
    break;
  }
  return crash;
}

// hungTasks reads the hung-task detector's reports from the log.
function hungTasks(lines) {
  const out = new Map();
  for (const l of lines) {
    const m = /^INFO: task (.+):(\d+) blocked for more than (\d+) seconds\./.exec(l.text);
    if (m) out.set(Number(m[2]), { comm: m[1], pid: Number(m[2]), seconds: Number(m[3]) });
  }
  return out;
}

// parseMeminfo: key → kB (or a count for HugePages_*).
function parseMeminfo(text) {
  const m = new Map();
  for (const line of (text || '').split('\n')) {
    const r = /^([\w()]+):\s+(\d+)/.exec(line);
    if (r) m.set(r[1], Number(r[2]));
  }
  return m;
}

// memoryBreakdown: where RAM went, in kB, from /proc/meminfo. The parts do
// not overlap: page cache is Buffers + Cached (which holds shmem), anon is
// AnonPages (which does not); what the counters do not cover (vmalloc,
// per-CPU, drivers' pages, the swap cache) is "unaccounted".
function memoryBreakdown(mi) {
  const need = ['MemTotal', 'MemFree', 'Buffers', 'Cached', 'AnonPages', 'Slab', 'KernelStack', 'PageTables'];
  const missing = need.filter((k) => !mi.has(k));
  if (missing.length) return { missing };
  const total = mi.get('MemTotal');
  const huge = mi.has('Hugetlb') ? mi.get('Hugetlb') : (mi.get('HugePages_Total') || 0) * (mi.get('Hugepagesize') || 0);
  const parts = [
    { key: 'free', label: 'free', kb: mi.get('MemFree') },
    { key: 'cache', label: 'page cache', kb: mi.get('Buffers') + mi.get('Cached') },
    { key: 'anon', label: 'anonymous (process memory)', kb: mi.get('AnonPages') },
    { key: 'slab', label: 'slab (kernel caches)', kb: mi.get('Slab') },
    { key: 'kstack', label: 'kernel stacks', kb: mi.get('KernelStack') },
    { key: 'pgtable', label: 'page tables', kb: mi.get('PageTables') },
    { key: 'huge', label: 'huge pages', kb: huge },
  ];
  const used = parts.reduce((a, p) => a + p.kb, 0);
  parts.push({ key: 'other', label: 'unaccounted (vmalloc, per-CPU, drivers…)', kb: Math.max(0, total - used) });
  return { total, parts, over: used > total ? used - total : 0 };
}

// topSlabs: the largest slab caches by memory (slabs × pages per slab).
function topSlabs(text, n = 8, pageSize = 4096) {
  const out = [];
  for (const line of (text || '').split('\n')) {
    if (line.startsWith('slabinfo') || line.startsWith('#') || !line.trim()) continue;
    const f = line.split(/\s+/);
    const [name, active, num, objsize, , pagesPerSlab] = f;
    const slabs = Number(f[f.indexOf('slabdata') + 2]);
    if (!name || Number.isNaN(slabs)) continue;
    out.push({ name, active: Number(active), num: Number(num), objsize: Number(objsize), bytes: slabs * Number(pagesPerSlab) * pageSize });
  }
  out.sort((a, b) => b.bytes - a.bytes);
  return out.slice(0, n);
}

// parsePs reads `ps -elfL`: one row per thread.
function parsePs(text) {
  const lines = (text || '').split('\n').filter((l) => l.trim());
  if (lines.length < 2) return [];
  return lines.slice(1).map((l) => {
    const f = l.trim().split(/\s+/);
    return { state: f[1], pid: Number(f[3]), ppid: Number(f[4]), lwp: Number(f[5]), wchan: f[12], cmd: f.slice(16).join(' ') };
  }).filter((r) => r.state && !Number.isNaN(r.pid));
}

// parseSys reads crash-style `sys` output ("KEY: value" lines).
function parseSys(text) {
  const m = new Map();
  for (const line of (text || '').split('\n')) {
    const r = /^\s*([A-Z][A-Z ]*[A-Z]):\s?(.*)$/.exec(line);
    if (r) m.set(r[1], r[2].trim());
  }
  return m;
}

function mib(kb) { return kb >= 1024 * 1024 ? `${(kb / 1048576).toFixed(1)} GiB` : `${(kb / 1024).toFixed(kb < 10240 ? 1 : 0)} MiB`; }

function duration(sec) {
  if (!(sec >= 0)) return '';
  if (sec < 120) return `${sec.toFixed(1)} s`;
  const d = Math.floor(sec / 86400), h = Math.floor(sec % 86400 / 3600), m = Math.floor(sec % 3600 / 60);
  return [d && `${d} d`, (d || h) && `${h} h`, `${m} min`].filter(Boolean).join(' ');
}

// triageFacts gathers what the view shows from the manifest and files
// ({role: text or null}); it is what tests and the CLI summary agree on.
function triageFacts(manifest, files) {
  const k = manifest.kernel || {};
  const log = splitLog(files.dmesg);
  const crash = log.length ? findCrash(log) : null;
  const sys = parseSys(files.sys);
  const f = {
    release: k.release || '', nodename: k.nodename || '', crashTime: k.crash_time || '',
    panic: k.panic_message || '', log, crash, sys,
    cpu: k.cpus && k.cpus.panic_cpu !== null && k.cpus.panic_cpu !== undefined ? k.cpus.panic_cpu : null,
    taint: k.taint, unreadable: k.unreadable || {},
    culprit: (k.crash && k.crash.culprit) || k.culprit || sys.get('CULPRIT') || '',
    task: null, trace: [], traceFrom: '',
  };
  // The panicking task: the stack-trace outputs, else the log's "CPU: …
  // PID: … Comm: …" line of the crash report.
  // sys names the panicking task as crash does: PID: n, COMMAND: "comm".
  if (/^\d+$/.test(sys.get('PID') || '') && sys.has('COMMAND')) f.task = { pid: Number(sys.get('PID')), comm: sys.get('COMMAND').replace(/^"|"$/g, '') };
  else if (crash && crash.task) f.task = { pid: crash.task.pid, comm: crash.task.comm };
  if (f.cpu === null && crash && crash.task) f.cpu = crash.task.cpu;
  if (!f.panic && sys.get('PANIC')) f.panic = sys.get('PANIC').replace(/^"|"$/g, '');
  if (!f.panic && manifest.pending && crash && crash.panicLine >= 0) f.panic = log[crash.panicLine].text.slice('Kernel panic - not syncing: '.length);
  // The call trace: the panic CPU's frames from the unwinder (bt -a),
  // else the crash report in the log.
  // The call trace: the unwinder's frames of the panic CPU (the
  // manifest's panic_frames, else bt -a's block of that CPU), else the
  // crash report the kernel printed in its log.
  const fromBt = panicCpuFrames(files.bt, f.cpu);
  if (Array.isArray(k.panic_frames) && k.panic_frames.length) {
    f.trace = k.panic_frames.map((t) => ({ fn: t.replace(/\+.*/, ''), text: t, unreliable: false }));
    f.traceFrom = 'unwinder';
  } else if (fromBt.length) { f.trace = fromBt; f.traceFrom = 'bt'; } else if (crash && crash.trace.length) { f.trace = crash.trace; f.traceFrom = 'log'; }
  f.hung = hungTasks(log);
  f.blocked = parseBlocked(files.blocked);
  f.haveBlocked = files.blocked !== null && files.blocked !== undefined;
  f.mem = files.meminfo ? parseMeminfo(files.meminfo) : null;
  f.slabs = files.slabinfo ? topSlabs(files.slabinfo) : [];
  f.ps = files.ps ? parsePs(files.ps) : [];
  const la = (files.loadavg || '').trim().split(/\s+/);
  f.load = la.length >= 4 ? { one: la[0], five: la[1], fifteen: la[2], runnable: la[3] } : null;
  const up = Number((files.uptime || '').trim().split(/\s+/)[0]);
  f.uptime = files.uptime && !Number.isNaN(up) ? up : null;
  return f;
}

// parseBlocked reads `bt_blocked` (crash's foreach UN bt): per task its
// header (PID, COMMAND), "BLOCKED: [d days, ]hh:mm:ss.mmm since it last
// ran", and its frames.
function parseBlocked(text) {
  const out = [];
  if (!text) return out;
  for (const b of text.split(/\n(?=PID:)/)) {
    const h = /^PID:\s*(\d+)\s.*COMMAND:\s*"(.*)"/.exec(b);
    if (!h) continue;
    const w = /BLOCKED:\s*(?:(\d+) days?, )?(\d+):(\d+):(\d+)(?:\.(\d+))?/.exec(b);
    const seconds = w ? Number(w[1] || 0) * 86400 + Number(w[2]) * 3600 + Number(w[3]) * 60 + Number(w[4]) + Number(`0.${w[5] || 0}`) : null;
    const frames = [];
    for (const line of b.split('\n')) {
      const m = /^\s*#\d+\s+\[[0-9a-f]+\]\s+(\S+)/.exec(line);
      if (m) frames.push(m[1]);
    }
    out.push({ pid: Number(h[1]), comm: h[2], seconds, frames });
  }
  return out;
}

// panicCpuFrames reads crash-style `bt -a` text: the block of the given
// CPU ("… CPU: n  COMMAND: …"), its "#i [addr] function at addr" frames.
function panicCpuFrames(text, cpu) {
  if (!text || cpu === null) return [];
  const blocks = text.split(/\n(?=PID:)/);
  for (const b of blocks) {
    const h = /^PID:.*CPU:\s*(\d+)/.exec(b);
    if (!h || Number(h[1]) !== cpu) continue;
    const frames = [];
    for (const line of b.split('\n')) {
      const m = /^\s*#\d+\s+\[[0-9a-f]+\]\s+(\S+)(?:\s+at\s+\S+)?/.exec(line);
      if (m) frames.push({ fn: m[1], text: line.trim(), unreliable: false });
    }
    return frames;
  }
  return [];
}

// ---------------------------------------------------------------------------
// Rendering. h builds an element like app.js's el (text set as text).

function h(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

// whyMissing says in a sentence why a report file the view needs is not
// there, from the manifest's outcome for it.
function whyMissing(manifest, path, what) {
  if (manifest.pending) return `${what}: being read…`;
  const o = (manifest.outputs || []).find((x) => x.path === path);
  if (!o) return `${what}: not in this report.`;
  if (o.status === 'not-applicable') return `${what}: not applicable to this kernel.`;
  return `${what} could not be read from the dump.`;
}

function card(cls, title, ...body) {
  return h('section', { class: `card ${cls}`, 'aria-label': title }, h('h3', { text: title }), ...body);
}

function factRow(dl, label, value, key, note) {
  if (value === '' || value === null || value === undefined) return;
  dl.append(h('dt', { text: label }), h('dd', { dataset: key ? { fact: key } : undefined }, value,
    note ? h('span', { class: 'muted', text: ` ${note}` }) : null));
}

// renderTriage fills container with the view of facts.
function renderTriage(container, f, manifest, summary) {
  container.replaceChildren();
  const unreadable = Boolean(f.unreadable.memory);

  // What happened.
  const dl = h('dl', { class: 'facts' });
  factRow(dl, 'Culprit', f.culprit, 'culprit');
  if (f.task) factRow(dl, 'Task', `${f.task.comm} (PID ${f.task.pid})`, 'task');
  if (f.cpu !== null) factRow(dl, 'CPU', String(f.cpu), 'cpu');
  factRow(dl, 'Crashed', f.crashTime ? f.crashTime.replace('T', ' ').replace('Z', ' UTC') : '', 'time');
  if (f.uptime !== null) factRow(dl, 'Uptime', duration(f.uptime), 'uptime', 'since boot');
  if (f.load) factRow(dl, 'Load', `${f.load.one}, ${f.load.five}, ${f.load.fifteen}`, 'load', `(1, 5, 15 min; ${f.load.runnable.replace('/', ' runnable of ')} tasks)`);
  const taint = h('dd', { dataset: { fact: 'taint' } });
  if (!f.taint) taint.append(manifest.pending ? 'being read…' : unreadable ? 'unknown (the kernel\'s memory could not be read)' : 'unknown (tainted_mask could not be read)');
  else if (!f.taint.letters) taint.append('not tainted');
  else {
    taint.append(h('code', { text: f.taint.letters }));
    const ul = h('ul', { class: 'taints' });
    for (const c of f.taint.letters) ul.append(h('li', {}, h('code', { text: c }), ` ${TAINTS[c] || 'an unknown taint flag'}`));
    taint.append(ul);
  }
  dl.append(h('dt', { text: 'Taint' }), taint);
  factRow(dl, 'Kernel', f.release ? `Linux ${f.release}` : '', 'release', f.nodename ? `on ${f.nodename}` : '');
  const headline = f.panic
    ? h('p', { class: 'panic', dataset: { fact: 'panic' } }, h('span', { class: 'label', text: 'Kernel panic: ' }), f.panic)
    : manifest.pending ? h('p', { class: 'panic none', dataset: { fact: 'panic' }, text: 'Reading the kernel log…' })
    : h('p', { class: 'panic none', dataset: { fact: 'panic' }, text: unreadable ? 'The panic message could not be read: the kernel\'s memory, which holds its log, could not be read.' : 'The kernel log holds no "Kernel panic" line: the dump was taken without a panic (or the message was lost).' });
  container.append(card(unreadable ? 'what alone' : 'what', 'What happened', headline, dl));

  if (unreadable) return; // the rest comes from kernel memory

  // The call trace.
  const trace = f.trace.length
    ? h('ol', { class: 'frames', dataset: { fact: 'trace' } }, ...f.trace.map((fr) => h('li', { class: fr.unreliable ? 'unreliable' : '' }, h('code', { text: fr.text }))))
    : h('p', { class: 'muted', text: manifest.pending ? 'Being read…' : 'No call trace was found in the kernel log.' });
  const traceNote = f.traceFrom === 'unwinder' || f.traceFrom === 'bt' ? 'Unwound from the dump (every CPU: sos_commands/vmcore/bt_-a).'
    : f.traceFrom === 'log' ? 'As the kernel printed it in its log (the dump\'s own stack unwinding is not in this report). Frames marked ? are guesses the kernel made while printing.' : '';
  container.append(card('trace', f.cpu !== null ? `Call trace of CPU ${f.cpu}` : 'Call trace', trace, traceNote ? h('p', { class: 'note', text: traceNote }) : null));

  // The last kernel messages.
  if (f.log.length) {
    const from = Math.max(0, f.log.length - 50);
    const pre = h('pre', { class: 'log', tabindex: '0', 'aria-label': 'The last kernel messages' });
    for (let i = from; i < f.log.length; i++) {
      const l = f.log[i];
      const inCrash = f.crash && i >= f.crash.start && i <= f.crash.end;
      const line = h('span', { class: `line${inCrash ? ' crash' : ''}${i === f.log.length - 1 ? ' last' : ''}` },
        l.ts ? h('span', { class: 'ts', text: `[${l.ts.padStart(12)}] ` }) : null, l.text);
      pre.append(line, '\n');
    }
    container.append(card('log', `Last ${f.log.length - from} kernel messages`, pre,
      h('p', { class: 'note', text: f.crash ? 'The crash report is highlighted.' : 'No crash report was found in the log.' })));
    // Show the end: the crash is there.
    requestAnimationFrame(() => { pre.scrollTop = pre.scrollHeight; });
  } else {
    container.append(card('log', 'Kernel messages', h('p', { class: 'muted', text: whyMissing(manifest, TRIAGE_FILES.dmesg, 'The kernel log') })));
  }

  container.append(renderTasks(f, manifest));
  container.append(renderMemory(f, manifest));
}

function renderTasks(f, manifest) {
  if (!f.ps.length) return card('tasks', 'Tasks', h('p', { class: 'muted', text: whyMissing(manifest, TRIAGE_FILES.ps, 'The process list') }));
  const counts = new Map();
  for (const r of f.ps) counts.set(r.state, (counts.get(r.state) || 0) + 1);
  const order = [...counts.keys()].sort((a, b) => counts.get(b) - counts.get(a));
  const total = f.ps.length;
  const ul = h('ul', { class: 'states', dataset: { fact: 'states' } });
  for (const st of order) {
    ul.append(h('li', { dataset: { state: st } }, h('span', { class: `swatch st-${st === st.toUpperCase() ? st : `l${st}`}`, 'aria-hidden': 'true' }),
      h('strong', { text: String(counts.get(st)) }), ` ${TASK_STATES[st] || `state ${st}`} `, h('code', { class: 'muted', text: st })));
  }
  // Widths through the CSSOM: the CSP forbids style attributes.
  const bar = h('div', { class: 'statebar', 'aria-hidden': 'true' }, ...order.map((st) => {
    const seg = h('span', { class: `st-${st === st.toUpperCase() ? st : `l${st}`}`, title: `${counts.get(st)} ${TASK_STATES[st] || st}` });
    seg.style.flexGrow = String(counts.get(st));
    return seg;
  }));
  const blocked = f.ps.filter((r) => r.state === 'D');
  const body = [h('p', { class: 'muted', text: `${total} threads (ps -elfL).` }), bar, ul];
  const hung = [...f.hung.values()];
  if (blocked.length || hung.length || f.blocked.length) {
    // The unwinder's list (bt_blocked: time since each last ran, where it
    // sleeps) first, then ps's D tasks and the log's hung-task reports.
    const rows = new Map();
    for (const b of f.blocked) rows.set(b.pid, { pid: b.pid, comm: b.comm, seconds: b.seconds, where: b.frames.find((fn) => !/^(__schedule|schedule|schedule_\w+|io_schedule\w*|context_switch|__switch_to\w*)$/.test(fn)) || '' });
    for (const r of blocked) if (!rows.has(r.lwp)) rows.set(r.lwp, { pid: r.lwp, comm: r.cmd, where: r.wchan && r.wchan !== '-' && r.wchan !== '?' ? r.wchan : '', seconds: null });
    for (const t of hung) {
      const r = rows.get(t.pid) || { pid: t.pid, comm: t.comm, where: '', seconds: null };
      r.hung = t.seconds;
      rows.set(t.pid, r);
    }
    const tb = h('tbody');
    const waited = (r) => (r.seconds !== null && r.seconds !== undefined ? `${duration(r.seconds)} since it last ran`
      : r.hung ? `more than ${r.hung} s (hung-task report in the log)` : f.haveBlocked ? 'not readable' : 'not in this report');
    for (const r of [...rows.values()].sort((a, b) => (b.seconds || 0) - (a.seconds || 0))) {
      tb.append(h('tr', {}, h('td', { class: 'num', text: String(r.pid) }), h('td', {}, h('code', { text: r.comm })),
        h('td', { text: waited(r) }), h('td', {}, r.where ? h('code', { text: r.where }) : '')));
    }
    body.push(h('h4', { text: `Blocked tasks (${rows.size})` }),
      h('div', { class: 'scroll-x' }, h('table', { class: 'mini', dataset: { fact: 'blocked' } },
        h('thead', {}, h('tr', {}, h('th', { text: 'PID' }), h('th', { text: 'Command' }), h('th', { text: 'Blocked for' }), h('th', { text: 'Sleeping in' }))), tb)));
  } else {
    body.push(h('p', { dataset: { fact: 'blocked' }, text: 'No task was blocked (none in state D, no hung-task report in the log).' }));
  }
  return card('tasks', 'Tasks', ...body);
}

function renderMemory(f, manifest) {
  if (!f.mem) return card('memory', 'Memory', h('p', { class: 'muted', text: whyMissing(manifest, TRIAGE_FILES.meminfo, 'The memory counters') }));
  const b = memoryBreakdown(f.mem);
  if (b.missing) return card('memory', 'Memory', h('p', { class: 'muted', text: `/proc/meminfo lacks ${b.missing.join(', ')}.` }));
  const W = 600, H = 28;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', class: 'membar', role: 'img',
    'aria-label': `Where ${mib(b.total)} of RAM went: ${b.parts.map((p) => `${p.label} ${mib(p.kb)}`).join(', ')}` });
  let x = 0;
  for (const p of b.parts) {
    const w = b.total ? (p.kb / b.total) * W : 0;
    if (w <= 0) continue;
    svg.append(s('rect', { x: x.toFixed(2), y: 0, width: Math.max(w, 0.5).toFixed(2), height: H, class: `m-${p.key}` },
      s('title', {}, document.createTextNode(`${p.label}: ${mib(p.kb)}`))));
    x += w;
  }
  const legend = h('ul', { class: 'legend', dataset: { fact: 'memory' } }, ...b.parts.map((p) =>
    h('li', { dataset: { part: p.key } }, h('span', { class: `swatch m-${p.key}`, 'aria-hidden': 'true' }),
      `${p.label} `, h('strong', { text: mib(p.kb) }), h('span', { class: 'muted', text: ` ${(100 * p.kb / b.total).toFixed(1)} %` }))));
  const body = [h('p', {}, h('strong', { text: mib(b.total) }), ' of RAM the kernel manages (MemTotal).'), svg, legend];
  if (b.over) body.push(h('p', { class: 'note', text: `The counters add up to ${mib(b.over)} more than MemTotal (they are read at slightly different moments).` }));
  // Swap.
  const st = f.mem.get('SwapTotal'), sf = f.mem.get('SwapFree');
  if (st !== undefined && sf !== undefined) {
    body.push(h('p', { dataset: { fact: 'swap' } }, h('strong', { text: 'Swap: ' }),
      st === 0 ? 'none configured.' : `${mib(st - sf)} used of ${mib(st)} (${(100 * (st - sf) / st).toFixed(0)} %).`));
  }
  if (f.slabs.length) {
    const tb = h('tbody', {}, ...f.slabs.map((c) => h('tr', {}, h('td', {}, h('code', { text: c.name })),
      h('td', { class: 'num', text: mib(c.bytes / 1024) }), h('td', { class: 'num', text: `${c.active} / ${c.num}` }), h('td', { class: 'num', text: `${c.objsize} B` }))));
    body.push(h('h4', { text: 'Largest slab caches' }), h('div', { class: 'scroll-x' }, h('table', { class: 'mini', dataset: { fact: 'slabs' } },
      h('thead', {}, h('tr', {}, h('th', { text: 'Cache' }), h('th', { class: 'num', text: 'Memory' }), h('th', { class: 'num', text: 'Objects in use' }), h('th', { class: 'num', text: 'Object size' }))), tb)));
  }
  return card('memory', 'Memory', ...body);
}

// A preview of the view while the report is made: what the file headers
// told (release, machine), and where the rest will be.
function renderTriagePending(container, dumps) {
  container.replaceChildren();
  const rel = [...new Set(dumps.map((d) => d.release).filter(Boolean))];
  const node = [...new Set(dumps.map((d) => d.node).filter(Boolean))];
  container.append(card('what pending', 'What happened',
    h('p', { class: 'muted', text: 'Reading the dump… the panic, the call trace, the last kernel messages, the tasks and the memory appear here when the report is ready.' }),
    rel.length ? h('dl', { class: 'facts' }, h('dt', { text: 'Kernel' }), h('dd', { text: `Linux ${rel.join(', ')}${node.length ? ` on ${node.join(', ')}` : ''}` })) : null));
}

// renderTriageLive shows what the report files written so far tell, while
// the run goes on (files: role → text, from the packer's copy of the
// stream).
function renderTriageLive(container, files, dumps) {
  const rel = dumps.map((d) => d.release).find(Boolean) || '';
  const node = dumps.map((d) => d.node).find(Boolean) || '';
  const pending = { pending: true, kernel: { release: rel, nodename: node }, outputs: [] };
  renderTriage(container, triageFacts(pending, files), pending, null);
}

if (typeof module !== 'undefined') {
  module.exports = { parseBlocked, splitLog, findCrash, hungTasks, parseMeminfo, memoryBreakdown, topSlabs, parsePs, parseSys, panicCpuFrames, triageFacts, TAINTS };
}
