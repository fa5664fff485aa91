// The triage view and the input edges, in Debian's chromium:
//
//	make web && node --test tests/browser/triage.test.mjs
//
// The facts the view must show come from the fixture's own record of the
// crash: the console log the guest printed (truth/commands/dmesg holds the
// log before the crash; console-full.log the panic), never from the page.
// Screenshots of the view at 1366×768 and 390×844 go to
// tests/browser/artifacts/ (or $BROWSER_ARTIFACTS).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { analyse, cleanup, ensureArtifacts, ensureDist, errorText, fixtures, launch, startServer } from './lib.mjs';

let server, ctx, sets, artifacts;

before(async () => {
  ensureDist();
  sets = await fixtures();
  if (!sets) {
    if (process.env.CI === 'true') throw new Error('fixtures required under CI: run `make fixtures`');
    return;
  }
  artifacts = ensureArtifacts();
  server = await startServer();
  ctx = await launch();
});

after(async () => {
  if (ctx) await ctx.close();
  if (server) server.stop();
  cleanup();
});

function set(id) {
  const s = sets.find((x) => x.id === id);
  assert.ok(s, `fixture set ${id} missing`);
  return s;
}

// consoleFacts reads what the guest's serial console printed when it
// panicked: the panic message, the "CPU: n … PID: p Comm: c" line and the
// last kernel line ("---[ end Kernel panic …").
async function consoleFacts(s) {
  const dir = s.roles['lzo-d31'][0].replace(/\/[^/]+$/, '');
  const text = await readFile(join(dir, 'console-full.log'), 'utf8');
  const lines = text.split(/\r?\n/).map((l) => l.replace(/^\[\s*\d+\.\d+\]\s?/, ''));
  const panicAt = lines.findLastIndex((l) => l.startsWith('Kernel panic - not syncing: '));
  assert.ok(panicAt >= 0, 'no panic in the console log');
  const panic = lines[panicAt].slice('Kernel panic - not syncing: '.length).trim();
  const who = lines.slice(panicAt).map((l) => /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)/.exec(l)).find(Boolean);
  assert.ok(who, 'no CPU/PID/Comm line after the panic');
  const last = lines.slice(panicAt).find((l) => l.startsWith('---[ end Kernel panic'));
  // The culprit: the first reliable frame below panic() in the trace the
  // kernel printed.
  const frames = lines.slice(panicAt).map((l) => l.trim()).filter((l) => /^[\w.]+\+0x/.test(l)).map((l) => l.replace(/\+.*/, ''));
  const culprit = frames[frames.indexOf('panic') + 1];
  return { panic, cpu: Number(who[1]), pid: Number(who[2]), comm: who[3], last: last.trim(), culprit };
}

async function fact(page, name) {
  return (await page.textContent(`#triage [data-fact="${name}"]`)).replace(/\s+/g, ' ').trim();
}

async function noHorizontalScroll(page, what) {
  const w = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
  assert.ok(w.doc <= w.view, `${what}: the page is ${w.doc} px wide in a ${w.view} px window`);
}

async function checkTriage(t, page, s, facts) {
  assert.equal(await page.getAttribute('#triage', 'data-partial'), 'false');
  assert.ok(await page.isVisible('#triage'), 'the triage view is not shown');
  assert.equal(await fact(page, 'panic'), `Kernel panic: ${facts.panic}`);
  assert.equal(await fact(page, 'task'), `${facts.comm} (PID ${facts.pid})`);
  assert.equal(await fact(page, 'cpu'), String(facts.cpu));
  assert.equal(await fact(page, 'culprit'), facts.culprit);
  // The last kernel line shown is the one the console printed last.
  const last = (await page.textContent('#triage pre.log .line.last')).replace(/^\[\s*\d+\.\d+\]\s?/, '').trim();
  assert.equal(last, facts.last);
  // It is inside the highlighted crash report, as is the panic line.
  assert.equal(await page.$eval('#triage pre.log .line.last', (e) => e.classList.contains('crash')), true);
  const crashLines = await page.$$eval('#triage pre.log .line.crash', (ls) => ls.map((l) => l.textContent));
  assert.ok(crashLines.some((l) => l.includes(`Kernel panic - not syncing: ${facts.panic}`)), 'the panic line is not highlighted');
  // The call trace holds panic() and, for this sysrq crash, its handler.
  const frames = await page.$$eval('#triage [data-fact="trace"] li', (ls) => ls.map((l) => l.textContent));
  assert.ok(frames.some((f) => /^panic\+/.test(f)) && frames.some((f) => f.startsWith('sysrq_handle_crash+')), `trace: ${frames}`);
  // Memory: the legend adds up to MemTotal.
  const mem = await page.$$eval('#triage [data-fact="memory"] li', (ls) => ls.map((l) => l.dataset.part));
  assert.deepEqual(mem, ['free', 'cache', 'anon', 'slab', 'kstack', 'pgtable', 'huge', 'other']);
  assert.ok((await page.$$('#triage svg.membar rect')).length >= 4, 'the memory bar has too few parts');
  assert.match(await fact(page, 'swap'), /^Swap: /);
  assert.ok((await page.$$('#triage [data-fact="slabs"] tbody tr')).length > 0, 'no slab caches');
  assert.match(await fact(page, 'taint'), /^not tainted$|^[A-Z]+ /);
  // The init task panicked running: states include R.
  assert.ok((await page.$$('#triage [data-fact="states"] li[data-state="R"]')).length === 1);
  // Focus moved to the view and the live region says what happened.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'triage-h');
  assert.match(await page.textContent('#announce'), new RegExp(`^The report is ready\\. Kernel panic: ${facts.panic.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} in ${facts.comm} \\(PID ${facts.pid}\\) on CPU ${facts.cpu}\\.$`));
  // The view comes before the archive and the tracker.
  const order = await page.evaluate(() => ['triage', 'result', 'coverage'].map((id) => document.getElementById(id).getBoundingClientRect().top + window.scrollY));
  assert.ok(order[0] < order[1] && order[1] < order[2], `triage, archive, tracker at ${order}`);
}

describe('triage view', () => {
  for (const [id, vmlinux] of [['bookworm-6.1', true], ['trixie-6.12', false]]) {
    test(`${id}${vmlinux ? ' with vmlinux' : ', dump alone'}: panic, task, CPU, trace, log, memory; screenshots`, async (t) => {
      if (!sets) return t.skip('fixtures not built (make fixtures)');
      const s = set(id);
      const facts = await consoleFacts(s);
      t.diagnostic(JSON.stringify(facts));
      const page = await ctx.newPage();
      await page.setViewportSize({ width: 1366, height: 768 });
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      const files = [...s.roles['lzo-d31'], ...(vmlinux ? [s.vmlinux] : [])];
      const { state } = await analyse(page, server.url, files);
      if (state !== 'done') assert.fail(`ended in ${state}: ${await errorText(page)}`);
      await checkTriage(t, page, s, facts);
      // The packer copied the view's files out of the stream while the
      // run wrote them: the view filled in before the end.
      const live = Number(await page.getAttribute('body', 'data-live-facts'));
      t.diagnostic(`${live} report files shown while the run went on`);
      // At least the /proc files (meminfo, loadavg, …), which come first
      // in the archive; the last ones may reach the packer after the end.
      assert.ok(live >= 3, `only ${live} files reached the view during the run`);
      await page.screenshot({ path: join(artifacts, `triage-${id}-1366x768.png`) });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.evaluate(() => document.getElementById('triage').scrollIntoView());
      await noHorizontalScroll(page, '390 px');
      await page.screenshot({ path: join(artifacts, `triage-${id}-390x844.png`) });
      await page.setViewportSize({ width: 360, height: 740 });
      await noHorizontalScroll(page, '360 px');
      await page.click('#coverage-details > summary');
      await noHorizontalScroll(page, '360 px, tracker open');
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test('the hung-task crash (kdump, 6.1): khungtaskd panicked, the task it named is listed as blocked where it sleeps', async (t) => {
    if (!sets) return t.skip('fixtures not built (make fixtures)');
    const s = set('bookworm-6.1/kdump-hung');
    const c = s.crash;
    assert.ok(c && c.hung_task, 'no crash record with a hung task');
    const page = await ctx.newPage();
    await page.setViewportSize({ width: 1366, height: 768 });
    const { state } = await analyse(page, server.url, [...s.roles['kdump-lzo-d31'], s.vmlinux]);
    if (state !== 'done') assert.fail(`ended in ${state}: ${await errorText(page)}`);
    assert.equal(await fact(page, 'panic'), `Kernel panic: ${c.panic_message}`);
    assert.equal(await fact(page, 'task'), `${c.task.comm} (PID ${c.task.pid})`);
    assert.equal(await fact(page, 'cpu'), String(c.panic_cpu));
    // The culprit as a symbol table names it (the culprit is inlined into
    // watchdog in these builds), or as the source does.
    assert.ok([c.culprit_symbol, c.culprit].includes((await fact(page, 'culprit')).replace(/\.cold$/, '')), await fact(page, 'culprit'));
    // The blocked-task table: the writer khungtaskd reported, with the time
    // since it last ran (from the dump, not only the log) and where it
    // sleeps (below the scheduler's own frames).
    const rows = await page.$$eval('#triage [data-fact="blocked"] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    const row = rows.find((r) => r[0] === String(c.hung_task.pid));
    assert.ok(row, `pid ${c.hung_task.pid} not among the blocked: ${JSON.stringify(rows)}`);
    assert.equal(row[1], c.hung_task.comm);
    assert.match(row[2], /since it last ran$/);
    assert.ok(row[3] && !/^(__)?schedule/.test(row[3]), `sleeping in ${row[3]}`);
    assert.ok((await page.$$('#triage [data-fact="states"] li[data-state="D"]')).length === 1, 'no D state in the task states');
    await page.screenshot({ path: join(artifacts, 'triage-hung-task-1366x768.png') });
    await page.close();
  });

  test('a truncated dump ends in a partial state that says what to do', async (t) => {
    if (!sets) return t.skip('fixtures not built (make fixtures)');
    const s = set('bookworm-6.1');
    const cut = s.roles['lzo-d31-truncated'][0];
    const page = await ctx.newPage();
    await page.setViewportSize({ width: 1366, height: 768 });
    const { state } = await analyse(page, server.url, [cut]);
    assert.equal(state, 'done', await errorText(page));
    assert.equal(await page.getAttribute('#triage', 'data-partial'), 'true');
    const box = (await page.textContent('#triage-state')).replace(/\s+/g, ' ');
    assert.match(box, /Partial report: only the dump's headers could be read/);
    assert.match(box, new RegExp(`Could be read: the kernel \\(Linux ${s.kernel_release.replace(/[.+]/g, '\\$&')}`));
    // The sizes: the cut file's, and the whole file's its headers imply
    // (the uncut fixture's size).
    const { size: whole } = await import('node:fs').then((fs) => fs.promises.stat(s.roles['lzo-d31'][0]));
    const { size: have } = await import('node:fs').then((fs) => fs.promises.stat(cut));
    const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
    assert.ok(box.includes(`Copy lzo-d31-truncated.kdump again: it is truncated at ${mib(have)} of the ${mib(whole)} its headers describe`), box);
    assert.match(box, /makedumpfile -l -d 1/);
    assert.match(box, /Add the crashed kernel's vmlinux/);
    // Sentences up front; the raw errors only inside the disclosure.
    const visible = await page.$eval('#triage-state', (e) => [...e.querySelectorAll(':scope > div > p, :scope > div > ul, :scope > div > h3')].map((x) => x.textContent).join(' '));
    assert.doesNotMatch(visible, /0x[0-9a-f]{6,}|kallsyms_num_syms|read virt/);
    assert.match(await page.textContent('#triage-state details pre'), /page missing/);
    // No invented date in the archive's name, no blank debug info.
    const name = await page.getAttribute('#download-archive', 'download');
    assert.doesNotMatch(name, /1970/);
    assert.equal(name, 'sosvmcore-vmcr-bookworm-6.1.tar.xz');
    assert.doesNotMatch(await page.textContent('#summary'), /types from ;|symbols from $/);
    assert.doesNotMatch(await page.textContent('body'), /the rest of the report is complete|1 bytes|OpenParts|is a not/);
    await page.screenshot({ path: join(artifacts, 'triage-truncated-1366x768.png') });
    await page.close();
  });

  test('per-file remove; a vmlinux kept from before that does not match the new dump is flagged before running', async (t) => {
    if (!sets) return t.skip('fixtures not built (make fixtures)');
    const a = set('bookworm-6.1'), b = set('trixie-6.12');
    const page = await ctx.newPage();
    const { state } = await analyse(page, server.url, [a.roles['lzo-d31'][0], a.vmlinux]);
    assert.equal(state, 'done', await errorText(page));
    // A new dump of another kernel: the 6.1 vmlinux stays, and is flagged
    // at once, naming both kernels, without a run.
    await page.setInputFiles('#files', b.roles['lzo-d31']);
    await page.waitForSelector('body[data-state="error"]');
    assert.equal(await page.getAttribute('#error', 'data-kind'), 'vmlinux-mismatch');
    const msg = await errorText(page);
    assert.match(msg, /kept from the previous run/);
    assert.ok(msg.includes(`Linux ${a.kernel_release}`) && msg.includes(`Linux ${b.kernel_release}`), msg);
    assert.equal(await page.isVisible('#progress'), false, 'a run started');
    assert.match(await page.textContent('#filelist li.conflict .usage'), /does not match the dump/);
    // Remove it (×): the dump alone runs.
    await page.click('#filelist li.conflict button.remove');
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 180000 });
    assert.equal(await page.getAttribute('body', 'data-state'), 'done', await errorText(page));
    assert.equal(await page.$$eval('#filelist li', (ls) => ls.length), 1);
    assert.match(await page.textContent('#summary'), new RegExp(`Linux ${b.kernel_release.replace(/[.+]/g, '\\$&')}`));
    await page.close();
  });

  test('dumps of different kernels are named as such; Run again after cancel', async (t) => {
    if (!sets) return t.skip('fixtures not built (make fixtures)');
    const a = set('bookworm-6.1'), b = set('trixie-6.12');
    const page = await ctx.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="idle"]', { timeout: 60000 });
    await page.setInputFiles('#files', [a.roles['lzo-d31'][0], b.roles['lzo-d31'][0]]);
    await page.waitForSelector('body[data-state="error"]');
    assert.equal(await page.getAttribute('#error', 'data-kind'), 'different-kernels');
    assert.match(await errorText(page), /come from different kernels/);
    const uses = await page.$$eval('#filelist li .usage', (ls) => ls.map((l) => l.textContent));
    assert.ok(uses.every((u) => !/part \d of/.test(u)), `labelled as parts: ${uses}`);
    await page.click(`#filelist li:has-text("${b.kernel_release}") button.remove`);
    await page.waitForSelector('body[data-state="running"], body[data-state="done"]');
    await page.click('#cancel').catch(() => {}); // the run may already be done
    await page.waitForSelector('body[data-state="cancelled"], body[data-state="done"]', { timeout: 30000 });
    assert.ok(await page.isVisible('#run-again'), 'no Run again button');
    await page.click('#run-again');
    await page.waitForSelector('body[data-state="done"]', { timeout: 180000 });
    assert.match(await fact(page, 'release'), new RegExp(a.kernel_release.replace(/[.+]/g, '\\$&')));
    await page.close();
  });

  test('make run\'s sample: one click runs the 6.1 dump and its vmlinux', async (t) => {
    if (!sets) return t.skip('fixtures not built (make fixtures)');
    const s = set('bookworm-6.1');
    const facts = await consoleFacts(s);
    const sampleServer = await startServer(['-sample', s.roles['lzo-d31'][0], '-sample', s.vmlinux, '-sample-title', `Linux ${s.kernel_release}`]);
    try {
      const page = await ctx.newPage();
      await page.goto(sampleServer.url);
      await page.waitForSelector('body[data-state="idle"]', { timeout: 60000 });
      await page.waitForSelector('#sample', { state: 'visible' });
      assert.match(await page.textContent('#sample-info'), new RegExp(`^Linux ${s.kernel_release.replace(/[.+]/g, '\\$&')}, `));
      await page.click('#sample');
      await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 240000 });
      assert.equal(await page.getAttribute('body', 'data-state'), 'done', await errorText(page));
      assert.equal(await fact(page, 'panic'), `Kernel panic: ${facts.panic}`);
      assert.equal(await page.$$eval('#filelist li.used', (ls) => ls.length), 2, 'the dump and the vmlinux');
      await page.close();
    } finally {
      sampleServer.stop();
    }
  });

  test('the devserver sends the security headers', async (t) => {
    if (!sets) return t.skip('fixtures not built (make fixtures)');
    const r = await fetch(server.url);
    assert.match(r.headers.get('content-security-policy') || '', /frame-ancestors 'none'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    // Without -sample the page offers none.
    const page = await ctx.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="idle"]', { timeout: 60000 });
    assert.equal(await page.isVisible('#sample'), false);
    await page.close();
  });
});
