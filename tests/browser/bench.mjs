// Benchmark (not a test): time to a finished report and peak wasm memory in
// Debian's chromium, on the 6.1 fixture: LZO -d 31 dump + vmlinux with types
// from the vmlinux's BTF, the same with types from its DWARF only
// (?types=dwarf), and the dump alone; and on the many-tasks set (make
// bench-fixtures) with BTF, by the analyzer alone and shared with a helper
// worker (?helper=on; by default the page has one only from 4 cores).
//
//	make web && node tests/browser/bench.mjs [runs [case name part [rounds]]]
//
// Each run loads the page afresh (a new worker and wasm instance), gives it
// the files through the file input and waits for data-state="done". Time is
// measured from handing over the files to "done" (the page's own clock, so
// Playwright's overhead is left out); memory is the worker's
// instance.exports.mem.buffer.byteLength at the end (it never shrinks, so
// it is the peak).
//
// First and return visits are told apart. Chromium keeps the wasm code
// that V8 optimized while a page ran (its code cache, per browser profile)
// and a later load of the page starts from it: the 6.1 report takes
// 1.0-1.3 s on a first visit and 0.7 s on the next, the many-tasks one
// 2.1-2.3 s and 1.5 s. That cache also depends on what ran before: after
// three small reports, many-tasks ones took 2.2-2.4 s, run after run. So
// each case runs in rounds, each round in a fresh browser profile: its
// first run is a first visit (no code cache), the others are return
// visits; both medians are printed. JSFLAGS passes V8 flags to chromium
// (e.g. --no-wasm-dynamic-tiering) for experiments.
import { cleanup, ensureDist, fixtures, launch, startServer } from './lib.mjs';

const runs = Number(process.argv[2] || 4);
// An optional third argument keeps only the cases whose name contains it
// (e.g. "BTF").
const only = process.argv[3] || '';
const rounds = Number(process.argv[4] || 3);

function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }
const mib = (n) => (n / (1 << 20)).toFixed(0);

async function main() {
  ensureDist();
  const sets = await fixtures();
  if (!sets) throw new Error('fixtures not built: run `make fixtures`');
  const s = sets.find((x) => x.id === 'bookworm-6.1') || sets[0];
  const dump = s.roles['lzo-d31'][0];
  const server = await startServer();
  const cases = [
    { name: `${s.id} lzo-d31 + vmlinux (BTF)`, files: [dump, s.vmlinux], query: '' },
    { name: `${s.id} lzo-d31 + vmlinux (DWARF only)`, files: [dump, s.vmlinux], query: '?types=dwarf' },
    { name: `${s.id} lzo-d31 alone (kallsyms + kernel BTF)`, files: [dump], query: '' },
  ];
  // The many-tasks set (~2,100 tasks), when `make bench-fixtures` built it.
  const many = sets.find((x) => x.id.endsWith('/kdump-many'));
  if (many) {
    cases.push({ name: `${many.id} (many tasks) kdump-lzo-d31 + vmlinux (BTF)`, files: [many.roles['kdump-lzo-d31'][0], many.vmlinux], query: '' });
    // The same with a helper worker whatever the cores (report.Share).
    cases.push({ name: `${many.id} (many tasks) kdump-lzo-d31 + vmlinux (BTF), ?helper=on`, files: [many.roles['kdump-lzo-d31'][0], many.vmlinux], query: '?helper=on' });
  } else {
    console.log('the many-tasks set is not built (make bench-fixtures): its case is left out');
  }
  try {
    for (const c of cases.filter((x) => x.name.includes(only))) {
      const results = [];
      for (let round = 0; round < rounds; round++) {
        const ctx = await launch();
        for (let i = 0; i < runs; i++) {
          const page = await ctx.newPage();
          await page.goto(server.url + c.query);
          await page.waitForSelector('body[data-state="idle"]', { timeout: 60000 });
          // As a user's files come seconds after the page: every worker ready.
          if (await page.getAttribute('body', 'data-helper')) await page.waitForSelector('body[data-helper="ready"]', { timeout: 60000 });
          await page.evaluate(() => {
            window.benchStart = 0;
            document.getElementById('files').addEventListener('change', () => { window.benchStart = performance.now(); }, { capture: true, once: true });
            new MutationObserver(() => {
              if (document.body.dataset.state === 'done' && !window.benchEnd) window.benchEnd = performance.now();
            }).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
          });
          await page.setInputFiles('#files', c.files);
          await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 300000 });
          if (await page.getAttribute('body', 'data-state') !== 'done') {
            throw new Error(`${c.name}: ${await page.textContent('#error-message')}`);
          }
          // The helper's last message may come just after the report.
          if (await page.getAttribute('body', 'data-helper')) {
            await page.waitForFunction(() => document.body.dataset.helperMade !== undefined, null, { timeout: 5000 }).catch(() => {});
          }
          const r = await page.evaluate(() => ({
            helperMade: document.body.dataset.helperMade,
            share: document.body.dataset.share,
            helperMem: Number(document.body.dataset.helperWasmMemory || 0),
            ms: window.benchEnd - window.benchStart,
            goMs: Number(document.body.dataset.elapsedMs),
            mem: Number(document.body.dataset.wasmMemory),
            stages: document.body.dataset.stages,
            reads: Number(document.body.dataset.reads),
            readMs: Number(document.body.dataset.readMs),
            bytes: Number(document.body.dataset.bytesRead),
            debug: [...document.querySelectorAll('#summary dd')].map((dd) => dd.textContent).find((t) => t.startsWith('types from')),
          }));
          r.first = i === 0;
          results.push(r);
          console.log(`  ${c.name} round ${round + 1} ${r.first ? 'first visit' : `return visit ${i}`}: ${r.ms.toFixed(0)} ms to done (Go ${r.goMs} ms; stages ${r.stages}), ` +
            `peak wasm memory ${mib(r.mem)} MiB (helper: ${r.helperMade === undefined ? 'none' : `${r.helperMade} outputs, ${mib(r.helperMem)} MiB; ${r.share}`}), ${r.reads} reads, ${mib(r.bytes)} MiB read in ${r.readMs} ms; ${r.debug}`);
          await page.close();
        }
        await ctx.close();
      }
      const first = results.filter((r) => r.first).map((r) => r.ms);
      const again = results.filter((r) => !r.first).map((r) => r.ms);
      console.log(`${c.name}: return visits median ${again.length ? median(again).toFixed(0) : '-'} ms to done` +
        `${again.length ? `, min ${Math.min(...again).toFixed(0)} ms` : ''} (${again.length} runs); ` +
        `first visits ${first.map((x) => x.toFixed(0)).join(', ')} ms; ` +
        `peak wasm memory ${mib(Math.max(...results.map((r) => r.mem)))} MiB`);
    }
  } finally {
    server.stop();
    cleanup();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
