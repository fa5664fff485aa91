// Profiling aid (not a test): CPU profiles of every worker of the page
// (analyzer, packer, helper) over a report, through the DevTools protocol,
// as .cpuprofile files that Chrome DevTools (Performance > Load profile)
// or a script can read. Function names need a main.wasm built with them:
//
//	go run ./cmd/buildweb -ldflags '' && node tests/browser/profile.mjs [small|many] [runs] [query]
//
// Run 1 of a fresh browser profile is a first visit (no V8 code cache),
// the later runs are return visits (see bench.mjs). Files go to
// tests/browser/artifacts/profile-<case>-<run>-<worker>.cpuprofile.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifacts, ensureArtifacts, ensureDist, fixtures, launch, startServer } from './lib.mjs';

const which = process.argv[2] || 'small';
const runs = Number(process.argv[3] || 2);
const query = process.argv[4] || '';

ensureDist();
ensureArtifacts();
const sets = await fixtures();
if (!sets) throw new Error('fixtures not built: run `make fixtures`');
const s = sets.find((x) => x.id === 'bookworm-6.1') || sets[0];
const many = sets.find((x) => x.id.endsWith('/kdump-many'));
if (which === 'many' && !many) throw new Error('the many-tasks set is not built: run `make bench-fixtures`');
const files = which === 'many' ? [many.roles['kdump-lzo-d31'][0], many.vmlinux] : [s.roles['lzo-d31'][0], s.vmlinux];
const server = await startServer();
const ctx = await launch();
try {
  for (let i = 0; i < runs; i++) {
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    // Workers are reached through the page's session (Target.sendMessageToTarget):
    // each is held at its start until its profiler runs.
    const workers = [];
    const pending = new Map();
    let nextID = 1;
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      const m = JSON.parse(e.message);
      if (m.id && pending.has(m.id)) {
        pending.get(m.id)(m.result);
        pending.delete(m.id);
      }
    });
    const send = (sessionId, method, params = {}) => new Promise((resolve) => {
      const id = nextID++;
      pending.set(id, resolve);
      cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
    });
    cdp.on('Target.attachedToTarget', async (e) => {
      workers.push(e.sessionId);
      await send(e.sessionId, 'Profiler.enable');
      await send(e.sessionId, 'Profiler.setSamplingInterval', { interval: 250 });
      await send(e.sessionId, 'Profiler.start');
      await send(e.sessionId, 'Runtime.runIfWaitingForDebugger');
    });
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: false });
    await page.goto(server.url + query);
    await page.waitForSelector('body[data-state="idle"]', { timeout: 60000 });
    await page.setInputFiles('#files', files);
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 300000 });
    const ms = await page.evaluate(() => document.body.dataset.elapsedMs);
    for (const [j, w] of workers.entries()) {
      const r = await send(w, 'Profiler.stop');
      const out = join(artifacts, `profile-${which}-${i + 1}-${j}.cpuprofile`);
      writeFileSync(out, JSON.stringify(r.profile));
      console.log(`run ${i + 1} (Go ${ms} ms): worker ${j} → ${out}`);
    }
    await page.close();
  }
} finally {
  await ctx.close();
  server.stop();
}
