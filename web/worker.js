// The analyzer's worker: runs main.wasm (Go) and lets it read the dropped
// files at random offsets without copying them whole.
//
// Reads: Go passes (file index, offset, pointer, length); we read that slice
// of the File with FileReaderSync (synchronous, allowed in workers) and copy
// it straight into wasm memory, returning only the byte count. Returning the
// bytes to Go instead (js.CopyBytesToGo) would keep every buffer alive in
// wasm_exec's value table. mem.buffer is fetched on every call: when wasm
// memory grows, the old ArrayBuffer is detached.
//
// The page runs two of these on the same module: the analyzer, and the
// packer, which compresses the tar the analyzer streams to it through a
// MessageChannel while the report is written (see wasm/packer_js.go).
'use strict';

importScripts('wasm_exec.js');

let instance = null;
let files = [];
// The port to the packer worker while a run streams its tar there.
let packPort = null;
let readError = '';
const reader = new FileReaderSync();
const recentLog = [];

// Time spent in reads, for the page's figures.
let readMs = 0;

// Ranges Go asked for ahead of need (vmcrPrefetch): read asynchronously
// while the run computes, and handed over by vmcrRead once arrived. Each
// is dropped when a read took its last byte, and all at the next run.
// Some are never read (a dump's chunk next to one read, which Go asks
// for on the chance), so past maxPrefetched bytes the oldest go: a read
// of a dropped range is then made at once, as without a prefetch.
let prefetched = [];
const maxPrefetched = 128 << 20;

self.vmcrPrefetch = (index, offset, n) => {
  const f = files[index];
  if (!f) return;
  const p = { index, offset, n, buf: null, used: 0 };
  prefetched.push(p);
  let held = prefetched.reduce((sum, x) => sum + x.n, 0);
  while (held > maxPrefetched && prefetched.length > 1) held -= prefetched.shift().n;
  f.slice(offset, offset + n).arrayBuffer().then((b) => { p.buf = b; }, () => { p.failed = true; });
};

// vmcrPending says whether a prefetch holding [offset, offset+n) of the
// file is still on its way: Go then waits for it rather than read again.
self.vmcrPending = (index, offset, n) => prefetched.some((p) => !p.buf && !p.failed && p.index === index &&
  offset >= p.offset && offset + n <= p.offset + p.n);

// fromPrefetch copies a read that lies inside an arrived prefetch, or
// returns -1.
function fromPrefetch(index, offset, ptr, n) {
  const i = prefetched.findIndex((p) => p.buf && p.index === index && offset >= p.offset && offset + n <= p.offset + p.buf.byteLength);
  if (i < 0) return -1;
  const p = prefetched[i];
  new Uint8Array(instance.exports.mem.buffer, ptr, n).set(new Uint8Array(p.buf, offset - p.offset, n));
  p.used += n;
  if (offset + n === p.offset + p.buf.byteLength || p.used >= p.buf.byteLength) prefetched.splice(i, 1);
  return n;
}

self.vmcrRead = (index, offset, ptr, n) => {
  const t0 = performance.now();
  try {
    const f = files[index];
    if (!f) throw new Error(`no file ${index}`);
    const got = fromPrefetch(index, offset, ptr, n);
    if (got >= 0) return got;
    const buf = reader.readAsArrayBuffer(f.slice(offset, offset + n));
    new Uint8Array(instance.exports.mem.buffer, ptr, buf.byteLength).set(new Uint8Array(buf));
    return buf.byteLength;
  } catch (e) {
    readError = `${e.name || 'Error'}: ${e.message || e}`;
    return -1;
  } finally {
    readMs += performance.now() - t0;
  }
};
self.vmcrReadError = () => readError;

// A report shared with a helper worker (report.Share): the lead and the
// helper each hold one end of a MessageChannel the page made. Messages
// (report's wire form, one ArrayBuffer each) queue here until Go takes
// them, which it does after yielding to this event loop (vmcrYield).
let peerPort = null;
let peerQueue = [];
let peerGone = false;
let peerWake = null;

function setPeer(port) {
  if (peerPort) peerPort.close();
  peerPort = port;
  peerQueue = [];
  peerGone = false;
  peerWake = null;
  if (!port) return;
  port.onmessage = (e) => {
    if (port !== peerPort) return;
    peerQueue.push(e.data);
    wakePeer();
  };
}

function wakePeer() {
  const f = peerWake;
  peerWake = null;
  if (f) f();
}

self.vmcrPeerSend = (ptr, n) => {
  if (!peerPort || peerGone) return false;
  const b = instance.exports.mem.buffer.slice(ptr, ptr + n);
  peerPort.postMessage(b, [b]);
  return true;
};
// vmcrPeerNext: the size of the next message, -1 if none, -2 if none and
// the other worker is gone.
self.vmcrPeerNext = () => (peerQueue.length ? peerQueue[0].byteLength : peerGone || !peerPort ? -2 : -1);
self.vmcrPeerCopy = (ptr) => {
  const b = peerQueue.shift();
  new Uint8Array(instance.exports.mem.buffer, ptr, b.byteLength).set(new Uint8Array(b));
};
// vmcrPeerWait(f) calls f when the next message arrives (f null: no
// longer).
self.vmcrPeerWait = (f) => { peerWake = f; };

// vmcrYield(f) calls f from this event loop's next turn, after the
// messages already here: a pause far cheaper than a timer's (setTimeout
// waits at least 4 ms once nested).
const yieldChannel = new MessageChannel();
let yieldResume = null;
yieldChannel.port1.onmessage = () => {
  const f = yieldResume;
  yieldResume = null;
  if (f) f();
};
self.vmcrYield = (f) => {
  yieldResume = f;
  yieldChannel.port2.postMessage(0);
};

// The tar stream of a run: Go hands over [ptr, ptr+n) of its memory, which
// is copied (slice) and transferred to the packer.
self.vmcrPackChunk = (ptr, n) => {
  const b = instance.exports.mem.buffer.slice(ptr, ptr + n);
  packPort.postMessage(b, [b]);
};
self.vmcrPackEnd = () => {
  packPort.postMessage('end');
  packPort.close();
  packPort = null;
};

// tarPeek follows the tar stream's entries and posts the files named in
// keep (paths below the report's top folder) to the page as soon as each
// is complete: the triage view fills in while the report is written.
// Headers are ustar (with the prefix field) or PAX ('x' records, path=).
class TarPeek {
  constructor(keep) {
    this.keep = new Set(keep);
    this.head = new Uint8Array(512);
    this.headLen = 0;
    this.left = 0; // body bytes still to come
    this.pad = 0; // padding after the body
    this.body = null; // chunks of a kept (or PAX) body
    this.name = '';
    this.pax = false;
    this.paxPath = '';
    this.done = false;
  }

  push(b) {
    let o = 0;
    while (o < b.length && !this.done) {
      if (this.left > 0) {
        const n = Math.min(this.left, b.length - o);
        if (this.body) this.body.push(b.slice(o, o + n));
        this.left -= n;
        o += n;
        if (this.left === 0) this.endBody();
      } else if (this.pad > 0) {
        const n = Math.min(this.pad, b.length - o);
        this.pad -= n;
        o += n;
      } else {
        const n = Math.min(512 - this.headLen, b.length - o);
        this.head.set(b.subarray(o, o + n), this.headLen);
        this.headLen += n;
        o += n;
        if (this.headLen === 512) { this.headLen = 0; this.header(); }
      }
    }
  }

  header() {
    const h = this.head;
    if (h.every((x) => x === 0)) { this.done = true; return; }
    const str = (off, len) => { const t = new TextDecoder().decode(h.subarray(off, off + len)); const i = t.indexOf('\0'); return i < 0 ? t : t.slice(0, i); };
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156]);
    const prefix = str(257, 6) === 'ustar' ? str(345, 155) : '';
    const name = this.paxPath || (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    this.paxPath = '';
    this.pax = type === 'x';
    this.name = name.split('/').slice(1).join('/'); // below the top folder
    this.left = Number.isFinite(size) ? size : 0;
    this.pad = (512 - (this.left % 512)) % 512;
    this.body = this.pax || ((type === '0' || type === '\0') && this.keep.has(this.name)) ? [] : null;
    if (this.left === 0 && this.body) this.endBody();
  }

  endBody() {
    const parts = this.body;
    this.body = null;
    if (!parts) return;
    const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) { all.set(p, o); o += p.length; }
    const text = new TextDecoder().decode(all);
    if (this.pax) {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
      if (m) this.paxPath = m[1];
      return;
    }
    postMessage({ type: 'fact', path: this.name, text });
  }
}

// The packer's side: each piece is copied into a buffer Go provides. A new
// stream drops what is left of the last one (an abandoned run).
let packing = null;
function packFrom(port, format, keep) {
  if (packing) packing.close();
  packing = port;
  self.vmcr.packStart(format);
  const peek = keep && keep.length ? new TarPeek(keep) : null;
  port.onmessage = (e) => {
    if (e.data === 'end') {
      port.close();
      packing = null;
      self.vmcr.packEnd();
      return;
    }
    if (peek) {
      try { peek.push(new Uint8Array(e.data)); } catch { /* the view is a bonus: never stop the packing */ }
    }
    const n = e.data.byteLength;
    const ptr = self.vmcr.packBuffer(n);
    new Uint8Array(instance.exports.mem.buffer, ptr, n).set(new Uint8Array(e.data));
    self.vmcr.packWrite(n);
  };
}

// vmcrPost sends Go's message (JSON text, and the manifest as it is) to the
// page, with the wasm memory size (it never shrinks, so the last value is
// the peak).
self.vmcrPost = (json, blob, manifest) => {
  const msg = JSON.parse(json);
  if (manifest) msg.manifest = manifest;
  msg.wasm_memory = instance ? instance.exports.mem.buffer.byteLength : 0;
  msg.read_ms = readMs;
  if (blob !== undefined) msg.blob = blob;
  postMessage(msg);
};

// Go writes stdout and stderr (and panics) through console.log.
function forward(...args) {
  const text = args.map(String).join(' ');
  recentLog.push(text);
  if (recentLog.length > 200) recentLog.shift();
  postMessage({ type: 'log', text });
}
console.log = forward;
console.error = forward;
console.warn = forward;

async function init(module) {
  const go = new Go();
  let exitCode = null;
  go.exit = (code) => { exitCode = code; };
  try {
    instance = await WebAssembly.instantiate(module, go.importObject);
  } catch (e) {
    postMessage({ type: 'fatal', message: `The analyzer could not start: ${e.message || e}` });
    return;
  }
  // go.run resolves only when the Go program ends, which it never does on
  // its own: an end is a crash (a panic outside the report's isolation, or
  // running out of memory).
  go.run(instance).then(() => {
    const log = recentLog.join('\n');
    const oom = /out of memory/.test(log);
    postMessage({
      type: 'fatal',
      kind: oom ? 'out-of-memory' : 'crash',
      message: oom
        ? 'The analyzer ran out of memory (a browser gives WebAssembly at most 4 GiB). Try the native vmcore-report command on this dump.'
        : `The analyzer stopped unexpectedly (exit code ${exitCode}). Please report this with the dump's format and kernel release.`,
      detail: log.slice(-4000),
      wasm_memory: instance.exports.mem.buffer.byteLength,
    });
  });
}

self.onmessage = (e) => {
  const m = e.data;
  switch (m.type) {
    case 'init':
      init(m.module);
      break;
    case 'start':
    case 'help': {
      readMs = 0;
      prefetched = [];
      files = [...m.dump, ...(m.vmlinux ? [m.vmlinux] : [])];
      if (packPort) packPort.close(); // the stream of an abandoned run
      packPort = m.packPort || null;
      setPeer(m.peerPort || null);
      const spec = {
        dump: m.dump.map((f, i) => ({ index: i, name: f.name, size: f.size })),
        vmlinux: m.vmlinux ? { index: m.dump.length, name: m.vmlinux.name, size: m.vmlinux.size } : null,
        format: m.format,
        types: m.types || '',
        stream: packPort !== null,
        share: peerPort !== null,
      };
      if (m.type === 'help') self.vmcr.help(spec);
      else self.vmcr.start(spec);
      break;
    }
    case 'peer-gone': // the helper's worker died
      peerGone = true;
      wakePeer();
      break;
    case 'preview':
      postMessage({ type: 'preview', id: m.id, ...self.vmcr.preview(m.path) });
      break;
    case 'files': // the triage view's files: the end of each
      postMessage({ type: 'files', id: m.id, files: m.paths.map((p) => self.vmcr.preview(p, true)) });
      break;
    case 'archive':
      self.vmcr.archive(m.format);
      break;
    case 'cancel':
      self.vmcr.cancel();
      break;
    case 'pack':
      packFrom(m.port, m.format, m.keep);
      break;
  }
};
