// Shared helpers of the browser tests and the benchmark: build helpers,
// the dev server, Debian's chromium through playwright-core, the fixtures.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dist = join(repo, 'web', 'dist');
export const artifacts = process.env.BROWSER_ARTIFACTS || join(repo, 'tests', 'browser', 'artifacts');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// work is a scratch folder for the binaries and downloads of one session.
export const work = mkdtempSync(join(tmpdir(), 'vmcore-report-browser-'));
export function cleanup() { rmSync(work, { recursive: true, force: true }); }

export function ensureDist() {
  if (!existsSync(join(dist, 'main.wasm'))) {
    throw new Error(`${dist}/main.wasm is missing: run \`make web\` first`);
  }
}

export function ensureArtifacts() {
  mkdirSync(artifacts, { recursive: true });
  return artifacts;
}

// goBuild builds a Go main package of the repository into the scratch folder.
export async function goBuild(pkg, name) {
  const out = join(work, name);
  await run('go', ['build', '-o', out, pkg], { cwd: repo, maxBuffer: 1 << 24 });
  return out;
}

// fixtures returns the fixture sets (tests/browser/fixturepaths), or null
// when they are not built.
export async function fixtures() {
  try {
    const { stdout } = await run('go', ['run', './tests/browser/fixturepaths'], { cwd: repo, maxBuffer: 1 << 24 });
    return JSON.parse(stdout);
  } catch (e) {
    if (e.code === 3) return null;
    throw e;
  }
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

// startServer runs cmd/devserver on web/dist (with extra arguments, e.g.
// -sample) and waits until it answers.
export async function startServer(extra = []) {
  const bin = await goBuild('./cmd/devserver', 'devserver');
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const proc = spawn(bin, ['-addr', addr, '-dir', dist, ...extra], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const url = `http://${addr}/`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url);
      if (r.ok) return { url, origin: `http://${addr}`, stop: () => proc.kill() };
    } catch { /* not up yet */ }
    if (proc.exitCode !== null) throw new Error(`devserver exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`devserver did not answer on ${url}: ${stderr}`);
}

// launch starts headless chromium with a fresh profile. JSFLAGS, when set,
// passes V8 flags (--js-flags) for experiments.
export async function launch() {
  const profile = join(work, `profile-${Date.now()}`);
  return chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1360, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...(process.env.JSFLAGS ? [`--js-flags=${process.env.JSFLAGS}`] : [])],
  });
}

// analyse loads the page, gives it the files through the file input and
// waits for the end; it returns the final state and the time it took.
export async function analyse(page, url, files, { timeout = 180000, onReady = () => {} } = {}) {
  await page.goto(url);
  await page.waitForSelector('body[data-state="idle"]', { timeout: 60000 });
  onReady();
  const t0 = Date.now();
  await page.setInputFiles('#files', files);
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout });
  const ms = Date.now() - t0;
  const state = await page.getAttribute('body', 'data-state');
  return { state, ms };
}

export async function errorText(page) {
  return page.textContent('#error-message');
}
