#!/usr/bin/env node
// PixHive's web app in a real browser.
//
//   node tests/browser/run.mjs --bin PATH_TO_PIXHIVE --out DIR_FOR_SCREENSHOTS
//
// Starts a real pixhive (all-in-one, port 0, a temporary data dir, serving web/dist), makes an
// admin with `pixhive admin create-user`, drives Debian's chromium through playwright-core and
// checks sign-up, upload, the social flow, search, the operations playground, admin (users and the
// moderation queue), password change, log-out everywhere and reset by mailed link, axe-core
// accessibility, and writes screenshots at phone and desktop widths.
// Waits are on conditions only.
//
// Options: --chromium PATH (default /usr/bin/chromium), --keep (keep the data dir),
// --headed, --proxy-web (development only: serve web/dist from this runner and proxy /api to a
// pixhive that has no --web-dir yet).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const started = Date.now();
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const require = createRequire(import.meta.url);

function parseArgs(argv) {
  const o = { chromium: '/usr/bin/chromium', keep: false, headed: false, proxyWeb: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--bin') o.bin = path.resolve(val());
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--chromium') o.chromium = val();
    else if (a === '--keep') o.keep = true;
    else if (a === '--headed') o.headed = true;
    else if (a === '--proxy-web') o.proxyWeb = true;
    else if (a.startsWith('--test')) continue; // node:test's own flags
    else throw new Error(`unknown argument ${a}\nusage: node tests/browser/run.mjs --bin PATH_TO_PIXHIVE --out DIR_FOR_SCREENSHOTS`);
  }
  if (!o.bin) throw new Error('usage: node tests/browser/run.mjs --bin PATH_TO_PIXHIVE --out DIR_FOR_SCREENSHOTS');
  o.out = o.out || path.join(os.tmpdir(), 'pixhive-browser-screens');
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const WAIT = 90_000; // generous: CI may run the ASan build
const webDir = path.join(repo, 'web');
const distDir = path.join(webDir, 'dist');

// ---------------------------------------------------------------------------------------------
// The web app's build: scripts/build-web makes (or remakes) web/dist when it is missing or older
// than its sources.

function ensureBuilt() {
  execFileSync(path.join(repo, 'scripts', 'build-web'), { stdio: 'inherit' });
}

// ---------------------------------------------------------------------------------------------
// The server

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixhive-browser-'));
let server = null;
let serverLog = null;
let apiPort = 0;
let base = '';
let proxy = null;

function startServer() {
  const args = ['all', '--port', '0', '--address', '127.0.0.1', '--data-dir', dataDir, '--rate-limits', 'off', '--moderation-review', '0'];
  if (!opt.proxyWeb) args.push('--web-dir', distDir);
  fs.mkdirSync(opt.out, { recursive: true });
  serverLog = fs.createWriteStream(path.join(opt.out, 'pixhive.log'));
  server = spawn(opt.bin, args, { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pixhive did not log "listening" within ${WAIT / 1000} s (see ${opt.out}/pixhive.log)`)), WAIT);
    server.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`pixhive exited early (code ${code}, signal ${sig}); see ${opt.out}/pixhive.log`));
    });
    const rl = readline.createInterface({ input: server.stderr });
    rl.on('line', (line) => {
      serverLog.write(line + '\n');
      if (apiPort) return;
      try {
        const ev = JSON.parse(line);
        if (ev.event === 'listening' && ev.port) {
          apiPort = ev.port;
          clearTimeout(timer);
          resolve(apiPort);
        }
      } catch {
        /* not a JSON line */
      }
    });
  });
}

// --proxy-web: serve web/dist with the SPA fallback and pass /api to pixhive (development only).
function startProxy() {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };
  proxy = http.createServer((req, res) => {
    if (req.url.startsWith('/api/')) {
      const up = http.request({ host: '127.0.0.1', port: apiPort, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
      return;
    }
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = path.join(distDir, p);
    if (!file.startsWith(distDir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(distDir, 'index.html');
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(proxy.address().port)));
}

function pixhive(args) {
  return execFileSync(opt.bin, [...args, '--data-dir', dataDir], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// ---------------------------------------------------------------------------------------------
// Waiting on conditions (never on the clock alone)

async function until(what, fn, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

// ---------------------------------------------------------------------------------------------
// API helpers for set-up (the UI is what is tested)

async function call(method, p, { token, json } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1${p}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return body;
}

// The mails to an address in <data-dir>/outbox, newest first.
function mailsTo(email) {
  const dir = path.join(dataDir, 'outbox');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .map((f) => ({ f, text: fs.readFileSync(path.join(dir, f), 'utf8'), t: fs.statSync(path.join(dir, f)).mtimeMs }))
    .filter((m) => m.text.includes(`<${email}>`))
    .sort((a, b) => b.t - a.t || b.f.localeCompare(a.f));
}

// The newest verification mail for an address: "your PixHive verification code is 123456".
function latestCode(email) {
  const mails = mailsTo(email);
  if (mails.length === 0) return null;
  const m = /code is (\d{6})/.exec(mails[0].text);
  return m ? m[1] : null;
}

// The token of the newest password-reset mail for an address: its link is
// <public-url>/reset#token=TOKEN, the token running to the end of the line.
function latestResetToken(email) {
  for (const m of mailsTo(email)) {
    const t = /\/reset#token=(\S+)/.exec(m.text);
    if (t) return t[1];
  }
  return null;
}

async function apiUser(username, password) {
  const email = `${username}@example.com`;
  await call('POST', '/auth/signup', { json: { username, email, password } });
  const code = await until(`the mail to ${email}`, () => latestCode(email));
  await call('POST', '/auth/verify', { json: { username, code } });
  return apiToken(username, password);
}

async function apiToken(login, password) {
  return (await call('POST', '/auth/login', { json: { login, password } })).access_token;
}

// The error code of a 401 to an access token (throws while the token still works).
async function refusal(token) {
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/users/me`, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 401) throw new Error(`GET /users/me answered ${res.status} ${text}`);
  try {
    return JSON.parse(text).error.code;
  } catch {
    return text;
  }
}

// ---------------------------------------------------------------------------------------------
// Browser helpers

let browser;
const pageErrors = [];
const contexts = [];
// Every URL any page asked for, and every access token the server handed a page: a credential in
// a URL ends up in proxies' access logs (the last test checks none ever was in one).
const requestedUrls = [];
const issuedTokens = new Set();

async function newPage() {
  const ctx = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 800 } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  page.on('request', (r) => requestedUrls.push(r.url()));
  page.on('response', async (r) => {
    if (!/\/api\/v1\/(auth\/(login|refresh)|users\/me\/password)$/.test(new URL(r.url()).pathname)) return;
    try {
      const body = await r.json();
      if (body && body.access_token) issuedTokens.add(body.access_token);
    } catch {
      /* not JSON (an error page): nothing issued */
    }
  });
  return page;
}

// In-app navigation (as a click on a link would do): the access token lives in memory only.
async function go(page, p) {
  if (!page.url().startsWith(base)) {
    await page.goto(p);
  } else {
    await page.evaluate((to) => {
      history.pushState(null, '', to);
      dispatchEvent(new PopStateEvent('popstate'));
    }, p);
  }
  await page.locator('#page-title').first().waitFor();
}

async function uiLogin(page, login, password) {
  await page.goto('/login');
  await page.getByLabel('Username or email').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: `@${login}` }).waitFor();
}

async function imageLoaded(locator) {
  await locator.waitFor({ state: 'visible' });
  await until('the image to load', () => locator.evaluate((img) => img.complete && img.naturalWidth > 0));
}

// ---------------------------------------------------------------------------------------------
// Shared state between the tests (each falls back to API set-up when an earlier one failed)

const ALICE = { username: 'alice', password: 'correct horse battery' };
const BOB = { username: 'bob', password: 'another good password' };
const CAROL = { username: 'carol', password: 'carol has a password' };
const ADMIN = { username: 'root', password: 'a long admin password' };
const DAVE = { username: 'dave', password: 'dave has a password', next: 'dave has a new password' };
const ERIN = { username: 'erin', password: 'erin has a password' };
const FRANK = { username: 'frank', password: 'frank has a password', next: 'frank has a new password' };
const photoFile = path.join(repo, '.cache/photos/string.jpg');
const state = { alice: null, bob: null, admin: null, photoId: null, aliceToken: null };

async function ensureAlice() {
  if (!state.aliceToken) {
    try {
      state.aliceToken = await apiToken(ALICE.username, ALICE.password);
    } catch {
      state.aliceToken = await apiUser(ALICE.username, ALICE.password);
    }
  }
  if (!state.alice) {
    state.alice = await newPage();
    await uiLogin(state.alice, ALICE.username, ALICE.password);
  }
  return state.alice;
}

// Uploads the camera photo with a caption through the API and waits until it is processed.
async function apiUpload(token, caption) {
  const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/photos?caption=${encodeURIComponent(caption)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg' },
    body: fs.readFileSync(photoFile),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const id = (await res.json()).id;
  await until('the photo to be ready', async () => (await call('GET', `/photos/${id}`)).status === 'ready');
  return id;
}

async function ensurePhoto() {
  await ensureAlice();
  if (state.photoId) return state.photoId;
  state.photoId = await apiUpload(state.aliceToken, 'Strings #macro');
  return state.photoId;
}

// ---------------------------------------------------------------------------------------------

before(async () => {
  assert.ok(fs.existsSync(opt.bin), `no pixhive binary at ${opt.bin}`);
  assert.ok(fs.existsSync(opt.chromium), `no chromium at ${opt.chromium} (apt-get install chromium)`);
  assert.ok(fs.existsSync(photoFile), `no camera photo at ${photoFile} (scripts/fetch-photos)`);
  ensureBuilt();
  await startServer();
  base = `http://127.0.0.1:${opt.proxyWeb ? await startProxy() : apiPort}`;
  console.log(`# pixhive on ${base} (data ${dataDir})`);
  pixhive(['admin', 'create-user', '--admin', '--username', ADMIN.username, '--email', 'root@example.com', '--password', ADMIN.password]);
  browser = await chromium.launch({ executablePath: opt.chromium, headless: !opt.headed, args: ['--no-sandbox'] });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (proxy) proxy.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    const t = setTimeout(() => server.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
  if (serverLog) serverLog.end();
  if (!opt.keep) fs.rmSync(dataDir, { recursive: true, force: true });
  console.log(`# browser tests took ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${opt.out}`);
});

test('the server serves the app at / and an unknown path falls back to index.html', async () => {
  for (const p of ['/', '/users/nobody/followers']) {
    const res = await fetch(base + p);
    assert.equal(res.status, 200, p);
    assert.match(res.headers.get('content-type') || '', /text\/html/);
    assert.match(await res.text(), /<div id="app">/);
  }
  const res = await fetch(base + '/api/v1/no-such-route');
  assert.equal(res.status, 404);
  assert.match(res.headers.get('content-type') || '', /json/);
  // Hashed assets load, with long caching.
  const html = await (await fetch(base + '/')).text();
  const js = /src="(\/assets\/[^"]+\.js)"/.exec(html);
  assert.ok(js, 'index.html loads a bundled script from /assets/');
  const asset = await fetch(base + js[1]);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type') || '', /javascript/);
  if (!opt.proxyWeb) {
    const maxAge = /max-age=(\d+)/.exec(asset.headers.get('cache-control') || '');
    assert.ok(maxAge && Number(maxAge[1]) >= 86400, `long caching for /assets/ (got "${asset.headers.get('cache-control')}")`);
  }
});

test('sign up, confirm with the emailed code, sign in', async () => {
  const page = await newPage();
  await page.goto('/signup');
  await page.getByLabel('Username').fill(ALICE.username);
  await page.getByLabel('Email').fill(`${ALICE.username}@example.com`);
  await page.getByLabel('Password').fill(ALICE.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/verify\?/);
  // A wrong code shows the server's message.
  await page.getByLabel('Verification code').fill('000000');
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('alert').waitFor();
  const code = await until('the verification mail', () => latestCode(`${ALICE.username}@example.com`));
  await page.getByLabel('Verification code').fill(code);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.waitForURL(/\/login\?verified=1/);
  assert.equal(await page.getByLabel('Username or email').inputValue(), ALICE.username);
  await page.getByLabel('Password').fill(ALICE.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: '@alice' }).waitFor();
  await page.getByRole('heading', { name: 'Your feed' }).waitFor();
  state.alice = page;
  state.aliceToken = await apiToken(ALICE.username, ALICE.password);
});

test('a wrong password shows the server\'s message', async () => {
  const page = await newPage();
  await page.goto('/login');
  await page.getByLabel('Username or email').fill(ALICE.username);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.ok((await alert.innerText()).trim().length > 5);
});

test('the session survives a reload (HttpOnly refresh cookie) and sign-out ends it', async () => {
  const page = await newPage();
  await uiLogin(page, ALICE.username, ALICE.password);
  const cookies = await page.context().cookies();
  const refresh = cookies.find((c) => c.name === 'pixhive_refresh');
  assert.ok(refresh, 'the login set the pixhive_refresh cookie');
  assert.equal(refresh.httpOnly, true);
  assert.equal(refresh.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage)), '{}{}', 'nothing in web storage');
  await page.reload();
  await page.getByRole('link', { name: '@alice' }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in' }).first().waitFor();
  await page.reload();
  await page.getByRole('link', { name: 'Sign up' }).first().waitFor();
  assert.equal(await page.getByRole('link', { name: '@alice' }).count(), 0);
});

test('upload a camera photo with a #hashtag caption and watch it until its thumbnail shows', async () => {
  const page = await ensureAlice();
  await go(page, '/upload');
  await page.getByLabel('Choose photos, or drop them here').setInputFiles(photoFile);
  await page.getByLabel('Caption').fill('Strings on a guitar #macro');
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const row = page.getByTestId('upload-row').first();
  await row.getByText(/Processing|Ready/).first().waitFor();
  const thumb = row.getByTestId('upload-thumbnail');
  await imageLoaded(thumb);
  const href = await row.getByRole('link', { name: 'Open the photo' }).getAttribute('href');
  state.photoId = href.split('/').pop();
  // The photo page shows its details.
  await go(page, href);
  await page.getByTestId('photo-status').filter({ hasText: 'ready' }).waitFor();
  await page.getByRole('link', { name: '#macro' }).first().waitFor();
  await imageLoaded(page.locator('.photo-frame img'));
});

test('a private upload: its owner sees it (image fetched with the token), it is flagged as a duplicate, others get the server\'s message', async () => {
  const firstId = await ensurePhoto();
  const page = await ensureAlice();
  await go(page, '/upload');
  await page.getByLabel('Choose photos, or drop them here').setInputFiles(photoFile);
  await page.getByLabel('Caption').fill('The same strings, just for me');
  await page.getByRole('radio', { name: /Private/ }).check();
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const row = page.getByTestId('upload-row').first();
  const thumb = row.getByTestId('upload-thumbnail');
  await imageLoaded(thumb);
  assert.match(await thumb.getAttribute('src'), /^blob:/, 'a private thumbnail comes through an object URL');
  await row.getByRole('link', { name: 'an earlier photo' }).waitFor();
  const href = await row.getByRole('link', { name: 'Open the photo' }).getAttribute('href');
  await go(page, href);
  await page.getByText('private', { exact: true }).waitFor();
  await page.locator('.facts').getByRole('link', { name: 'an earlier photo' }).click();
  await page.waitForURL(new RegExp(`/photos/${firstId}$`));
  // Somebody else (signed out) gets the server's 404 message, not a blank page.
  const anon = await newPage();
  await anon.goto(href);
  const alert = anon.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /\w+/);
});

test('a refused file shows the server\'s message', async () => {
  const page = await ensureAlice();
  await go(page, '/upload');
  await page.getByLabel('Choose photos, or drop them here').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('this is not an image') });
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const alert = page.getByTestId('upload-row').first().getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /Refused:\s*\S+/);
});

test('a second user follows, likes and comments; the first sees the notifications', async () => {
  const photoId = await ensurePhoto();
  state.bobToken = await apiUser(BOB.username, BOB.password);
  const bob = await newPage();
  state.bob = bob;
  await uiLogin(bob, BOB.username, BOB.password);
  await go(bob, '/users/alice');
  await bob.getByRole('button', { name: /^Follow/ }).click();
  await bob.getByRole('button', { name: /^Following/ }).waitFor();
  assert.equal(await bob.getByTestId('count-followers').innerText(), '1');
  await go(bob, `/photos/${photoId}`);
  const like = bob.locator('.photo-actions').getByRole('button', { name: /Like this photo/ });
  assert.equal(await like.getAttribute('aria-pressed'), 'false');
  await like.click();
  await bob.locator('.photo-actions').getByRole('button', { name: /Like this photo,\s*1\s*like$/, pressed: true }).waitFor();
  await bob.getByLabel('Add a comment').fill('Lovely light on those strings!');
  await bob.getByRole('button', { name: 'Post comment' }).click();
  await bob.locator('.comment-list').getByText('Lovely light on those strings!').waitFor();
  // Bob's home feed now has Alice's photo.
  await until('the photo in bob\'s home feed', async () => (await call('GET', '/feed/home', { token: state.bobToken })).items.some((p) => p.id === photoId));
  await go(bob, '/');
  await bob.locator(`a[href="/photos/${photoId}"]`).first().waitFor();

  // Alice: notifications are made from events, a moment later.
  await until('alice\'s comment notification', async () =>
    (await call('GET', '/notifications', { token: state.aliceToken })).notifications.some((n) => n.kind === 'comment'),
  );
  const alice = await ensureAlice();
  await go(alice, '/notifications');
  const badge = alice.getByTestId('unread-count');
  await until('an unread count of at least 3', async () => Number(await badge.innerText()) >= 3);
  await alice.getByText('started following you').waitFor();
  await alice.getByText('liked').first().waitFor();
  await alice.getByText('Lovely light on those strings!').waitFor();
  await alice.getByRole('button', { name: 'Mark all as read' }).click();
  await badge.waitFor({ state: 'detached' });
  // Alice's profile counts the follower.
  await go(alice, '/users/alice/followers');
  await alice.getByRole('link', { name: '@bob' }).waitFor();
});

test('search finds the photo by its hashtag, people despite a typo, and the tag page', async () => {
  const photoId = await ensurePhoto();
  await until('the search index', async () => (await call('GET', '/search?q=%23macro')).items.some((p) => p.id === photoId));
  const page = await newPage();
  await page.goto('/search');
  await page.getByLabel('Search for', { exact: true }).fill('#macro');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator(`ul[aria-label="Matching photos"] a[href="/photos/${photoId}"]`).first().waitFor();
  await page.getByLabel('Search for', { exact: true }).fill('alcie');
  await page.getByLabel('In', { exact: true }).selectOption('users');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator('ul[aria-label="Matching people"]').getByRole('link', { name: '@alice' }).waitFor();
  await page.getByLabel('Search for', { exact: true }).fill('mac');
  await page.getByLabel('In', { exact: true }).selectOption('tags');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByRole('link', { name: /#macro/ }).click();
  await page.getByRole('heading', { name: '#macro' }).waitFor();
  await page.getByRole('heading', { name: 'Top uploaders' }).waitFor();
  await page.locator('.panel').getByRole('link', { name: '@alice' }).waitFor();
  await page.locator(`a[href="/photos/${photoId}"]`).first().waitFor();
});

test('the playground runs edge_detection on a file and as a job on a stored photo', async () => {
  await ensurePhoto();
  const page = await ensureAlice();
  await go(page, '/playground');
  await page.getByLabel('Operation').selectOption('edge_detection');
  await page.getByLabel(/threshold1/).fill('50');
  await page.getByLabel(/l2 gradient/).check();
  // An image from this device: POST /process, before and after side by side.
  await page.getByLabel('Image from this device', { exact: true }).setInputFiles(path.join(repo, '.cache/photos/string.jpg'));
  await page.getByRole('button', { name: 'Run edge detection' }).click();
  await imageLoaded(page.getByTestId('result-image'));
  await page.getByRole('img', { name: /^Before/ }).waitFor();
  // A stored photo: a job whose life arrives over Server-Sent Events.
  await page.getByLabel(/one of my stored photos/).check();
  await page.getByLabel('One of your photos').waitFor();
  await page.getByRole('button', { name: 'Run edge detection as a job' }).click();
  await page.getByTestId('job-events').getByText(/^Succeeded/).waitFor();
  await page.getByTestId('job-events').getByText('Queued').waitFor();
  await imageLoaded(page.getByTestId('result-image'));
});

test('an admin disables a user, who can then no longer sign in', async () => {
  await apiUser(CAROL.username, CAROL.password);
  const admin = await newPage();
  state.admin = admin;
  await uiLogin(admin, ADMIN.username, ADMIN.password);
  await go(admin, '/admin');
  const row = admin.locator('tr', { has: admin.getByRole('link', { name: '@carol' }) });
  await row.getByRole('button', { name: 'Disable @carol' }).click();
  await admin.getByTestId('state-carol').filter({ hasText: 'disabled' }).waitFor();
  await row.getByRole('button', { name: 'Enable @carol' }).waitFor();
  // Other admin pages answer.
  await go(admin, '/admin?tab=cache');
  await admin.getByRole('heading', { name: 'Hot-blob cache' }).waitFor();
  await admin.getByLabel('Replacement policy').selectOption('random');
  await admin.getByRole('button', { name: 'Save' }).click();
  await admin.getByText('Cache settings saved.').waitFor();
  await go(admin, '/admin?tab=stats');
  await admin.getByText('Uploads, last hour').waitFor();
  await go(admin, '/admin?tab=moderation');
  await admin.getByLabel('Show').waitFor();
  // Carol cannot sign in.
  const carol = await newPage();
  await carol.goto('/login');
  await carol.getByLabel('Username or email').fill(CAROL.username);
  await carol.getByLabel('Password').fill(CAROL.password);
  await carol.getByRole('button', { name: 'Sign in' }).click();
  const alert = carol.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /disabled/i);
  assert.equal(await carol.getByRole('link', { name: '@carol' }).count(), 0);
});

// The server runs with --moderation-review 0: every upload is queued for review (and stays
// visible), so the queue has real items, scored by the classifier.
test('an admin approves one photo in the moderation queue and rejects another', async () => {
  await ensureAlice();
  const keep = await apiUpload(state.aliceToken, 'Keep me #moderation');
  const drop = await apiUpload(state.aliceToken, 'Drop me #moderation');
  // A page of its own: the queue is read when the tab opens, after these uploads.
  const admin = await newPage();
  await uiLogin(admin, ADMIN.username, ADMIN.password);
  await go(admin, '/admin?tab=moderation&state=pending');
  const item = (id) => admin.locator('li.mod-item', { has: admin.locator(`a[href="/photos/${id}"]`) });
  await item(keep).getByRole('list', { name: 'Classifier scores' }).waitFor();
  await item(keep).getByRole('button', { name: 'Approve photo by @alice' }).click();
  await item(keep).locator('p', { hasText: 'State: approved by @root' }).waitFor();
  admin.once('dialog', (d) => d.accept());
  await item(drop).getByRole('button', { name: 'Reject photo by @alice' }).click();
  await admin.locator('li.mod-item', { hasText: 'State: rejected by @root' }).first().waitFor();
  // Approved stays, rejected is gone, for everyone.
  assert.equal((await call('GET', `/photos/${keep}`)).status, 'ready');
  const gone = await fetch(`http://127.0.0.1:${apiPort}/api/v1/photos/${drop}`);
  assert.equal(gone.status, 404);
  // The decisions are recorded with the admin.
  await go(admin, '/admin?tab=moderation&state=approved');
  await item(keep).locator('p', { hasText: 'State: approved by @root' }).waitFor();
});

test('a user changes their password on the security screen; their other sessions end', async () => {
  const apiBefore = await apiUser(DAVE.username, DAVE.password);
  const other = await newPage();
  await uiLogin(other, DAVE.username, DAVE.password);
  const page = await newPage();
  await uiLogin(page, DAVE.username, DAVE.password);
  // The screen is reached from the user's own profile.
  await go(page, `/users/${DAVE.username}`);
  await page.getByRole('link', { name: 'Account security' }).click();
  await page.waitForURL(/\/settings\/security$/);
  await page.getByRole('heading', { name: 'Account security' }).waitFor();
  const current = page.getByLabel('Current password', { exact: true });
  const next = page.getByLabel('New password', { exact: true });
  const confirm = page.getByLabel('Confirm new password', { exact: true });
  const submit = page.getByRole('button', { name: 'Change password' });
  // Checked before anything is sent: the two new ones differ.
  await current.fill(DAVE.password);
  await next.fill(DAVE.next);
  await confirm.fill(DAVE.next + '!');
  await submit.click();
  await page.getByRole('alert').filter({ hasText: 'do not match' }).waitFor();
  // A wrong current password: the server's message, and nothing changed.
  await current.fill('not my password');
  await confirm.fill(DAVE.next);
  await submit.click();
  const wrong = page.getByRole('alert').filter({ hasNotText: 'do not match' });
  await wrong.waitFor();
  assert.match(await wrong.innerText(), /password/i);
  assert.equal((await call('GET', '/users/me', { token: apiBefore })).username, DAVE.username);
  // The right one.
  await current.fill(DAVE.password);
  await submit.click();
  await page.getByRole('status').filter({ hasText: 'other sessions were signed out' }).waitFor();
  assert.equal(await page.getByRole('alert').count(), 0);
  assert.equal(await current.inputValue(), '', 'the form is emptied');
  // This session goes on, also after a reload (the new refresh cookie).
  await page.reload();
  await page.getByRole('link', { name: `@${DAVE.username}` }).waitFor();
  await page.getByLabel('Current password', { exact: true }).waitFor();
  // A token from before the change is refused; the other browser's session has ended (its
  // access token and its refresh cookie).
  assert.equal(await until('the earlier access token to be refused', () => refusal(apiBefore), 10_000), 'token_revoked');
  await go(other, '/notifications');
  await other.getByRole('link', { name: 'Sign in' }).first().waitFor();
  assert.equal(await other.getByRole('link', { name: `@${DAVE.username}` }).count(), 0);
  // The old password no longer signs in, the new one does.
  const fresh = await newPage();
  await fresh.goto('/login');
  await fresh.getByLabel('Username or email').fill(DAVE.username);
  await fresh.getByLabel('Password').fill(DAVE.password);
  await fresh.getByRole('button', { name: 'Sign in' }).click();
  await fresh.getByRole('alert').waitFor();
  assert.equal(await fresh.getByRole('link', { name: `@${DAVE.username}` }).count(), 0);
  await uiLogin(fresh, DAVE.username, DAVE.next);
  await assert.rejects(apiToken(DAVE.username, DAVE.password), /401/);
});

test('"Log out everywhere" signs the user out here and ends their other sessions', async () => {
  const apiBefore = await apiUser(ERIN.username, ERIN.password);
  const page = await newPage();
  await uiLogin(page, ERIN.username, ERIN.password);
  await go(page, '/settings/security');
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Log out everywhere' }).click();
  await page.waitForURL(/\/login$/);
  await page.getByLabel('Username or email').waitFor();
  await page.getByRole('status').filter({ hasText: 'signed out on every device' }).waitFor();
  assert.equal(await page.getByRole('link', { name: `@${ERIN.username}` }).count(), 0);
  assert.equal(await until('the earlier access token to be refused', () => refusal(apiBefore), 10_000), 'token_revoked');
  // The refresh cookie is gone too: a reload stays signed out.
  await page.reload();
  await page.getByLabel('Username or email').waitFor();
  assert.equal(await page.getByRole('link', { name: `@${ERIN.username}` }).count(), 0);
});

test('a user who forgot their password resets it through the emailed link, which works once; old sessions end', async () => {
  const email = `${FRANK.username}@example.com`;
  const apiBefore = await apiUser(FRANK.username, FRANK.password);
  // Asked for from the login screen's link.
  const page = await newPage();
  await page.goto('/login');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.waitForURL(/\/forgot$/);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  const sent = page.getByRole('status').filter({ hasText: 'If an account has this address, we sent it a link' });
  await sent.waitFor();
  const confirmation = (await sent.innerText()).trim();
  const token = await until(`the reset mail to ${email}`, () => latestResetToken(email));
  // The mail's link opened directly: the server answers index.html for /reset, the token stays in
  // the fragment, and the app takes it out of the address bar.
  const link = `/reset#token=${token}`;
  await page.goto(link);
  const next = page.getByLabel('New password', { exact: true });
  const confirm = page.getByLabel('Confirm new password', { exact: true });
  const submit = page.getByRole('button', { name: 'Set new password' });
  await next.waitFor();
  assert.equal(await page.evaluate(() => location.pathname + location.search + location.hash), '/reset', 'the token left the address bar');
  // Too short: refused before anything is sent (so the link still works).
  await next.fill('short');
  await confirm.fill('short');
  await submit.click();
  await page.getByRole('alert').filter({ hasText: 'at least 8 characters' }).waitFor();
  // The new password: the login page with the notice.
  await next.fill(FRANK.next);
  await confirm.fill(FRANK.next);
  await submit.click();
  await page.waitForURL(/\/login$/);
  await page.getByRole('status').filter({ hasText: 'Password changed: log in with the new one' }).waitFor();
  // A token from before the reset is refused: every session of the account ended.
  assert.equal(await until('the earlier access token to be refused', () => refusal(apiBefore), 10_000), 'token_revoked');
  // The new password signs in, the old one no longer does.
  await page.getByLabel('Username or email').fill(FRANK.username);
  await page.getByLabel('Password').fill(FRANK.next);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: `@${FRANK.username}` }).waitFor();
  await assert.rejects(apiToken(FRANK.username, FRANK.password), /401/);
  // The same link a second time: the server's message and a way to ask for a new one.
  const again = await newPage();
  await again.goto(link);
  await again.getByLabel('New password', { exact: true }).fill('yet another password');
  await again.getByLabel('Confirm new password', { exact: true }).fill('yet another password');
  await again.getByRole('button', { name: 'Set new password' }).click();
  const refused = again.getByRole('alert');
  await refused.waitFor();
  assert.match(await refused.innerText(), /not valid|expired|new one/i);
  assert.equal(await again.evaluate(() => location.pathname + location.hash), '/reset');
  assert.ok(await apiToken(FRANK.username, FRANK.next), 'the password set through the link still signs in');
  await again.getByRole('link', { name: 'Ask for a new link' }).click();
  await again.waitForURL(/\/forgot$/);
  // An address without an account gets the same answer, and no mail goes out.
  const unknown = 'nobody-by-this-name@example.com';
  await again.getByLabel('Email').fill(unknown);
  await again.getByRole('button', { name: 'Send reset link' }).click();
  const same = again.getByRole('status').filter({ hasText: 'If an account has this address, we sent it a link' });
  await same.waitFor();
  assert.equal((await same.innerText()).trim(), confirmation);
  assert.equal(mailsTo(unknown).length, 0);
});

// The main pages: [name, who, path, what shows the page is loaded]
function mainPages(photoId) {
  return [
    ['login', 'anon', '/login', (p) => p.getByLabel('Username or email')],
    ['signup', 'anon', '/signup', (p) => p.getByLabel('Email')],
    ['forgot', 'anon', '/forgot', (p) => p.getByLabel('Email')],
    // Any token shows the form (it is checked only when a password is sent).
    ['reset', 'anon', '/reset#token=screenshot-only', (p) => p.getByLabel('New password', { exact: true })],
    ['explore', 'anon', '/explore', (p) => p.locator('.grid img').first()],
    ['feed', 'alice', '/', (p) => p.locator('.grid img').first()],
    ['photo', 'alice', `/photos/${photoId}`, (p) => p.locator('.photo-frame img')],
    ['profile', 'alice', '/users/alice', (p) => p.locator('.grid img').first()],
    ['search', 'alice', '/search?type=photos&q=%23macro', (p) => p.locator('.grid img').first()],
    ['tag', 'alice', '/tags/macro', (p) => p.locator('.grid img').first()],
    ['upload', 'alice', '/upload', (p) => p.getByLabel('Caption')],
    ['playground', 'alice', '/playground?op=edge_detection', (p) => p.getByLabel('Operation')],
    ['notifications', 'alice', '/notifications', (p) => p.locator('.notes')],
    ['security', 'alice', '/settings/security', (p) => p.getByLabel('Current password', { exact: true })],
    ['admin', 'admin', '/admin', (p) => p.locator('table tbody tr').first()],
    ['admin-moderation', 'admin', '/admin?tab=moderation&state=all', (p) => p.getByLabel('Show')],
    ['admin-cache', 'admin', '/admin?tab=cache', (p) => p.getByLabel('Replacement policy')],
  ];
}

async function pageFor(who) {
  if (who === 'alice') return ensureAlice();
  if (who === 'admin') {
    if (!state.admin) {
      state.admin = await newPage();
      await uiLogin(state.admin, ADMIN.username, ADMIN.password);
    }
    return state.admin;
  }
  if (!state.anon) {
    state.anon = await newPage();
    await state.anon.goto('/explore');
  }
  return state.anon;
}

async function show(who, p, ready) {
  const page = await pageFor(who);
  await go(page, p);
  await ready(page).waitFor({ state: 'visible' });
  await page.evaluate(() => document.fonts.ready);
  return page;
}

test('axe-core finds no serious or critical accessibility violations on the main pages', async () => {
  const photoId = await ensurePhoto();
  // Evaluated through the DevTools protocol: the app's Content-Security-Policy (no inline
  // scripts) stays on, as a person's browser has it.
  const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const problems = [];
  for (const [name, who, p, ready] of mainPages(photoId)) {
    const page = await show(who, p, ready);
    if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
    });
    for (const v of result) {
      if (v.impact === 'serious' || v.impact === 'critical') problems.push(`${name}: [${v.impact}] ${v.id}: ${v.help} at ${v.nodes.join(', ')}`);
      else console.log(`# axe (${name}, ${v.impact}): ${v.id}: ${v.help}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the main pages at phone and desktop widths (screenshots)', async () => {
  const photoId = await ensurePhoto();
  fs.mkdirSync(opt.out, { recursive: true });
  const sizes = [
    ['phone', 390, 844],
    ['desktop', 1280, 800],
  ];
  const written = [];
  for (const [label, width, height] of sizes) {
    for (const [name, who, p, ready] of mainPages(photoId)) {
      const page = await pageFor(who);
      await page.setViewportSize({ width, height });
      await show(who, p, ready);
      // Nothing sticks out sideways on a phone.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${name} at ${label} width scrolls sideways by ${overflow}px`);
      const file = path.join(opt.out, `${name}-${label}.png`);
      await page.screenshot({ path: file, fullPage: true });
      written.push(file);
    }
  }
  // The phone layout hides the navigation behind the menu button, which opens it.
  const page = await pageFor('alice');
  await page.setViewportSize({ width: 390, height: 844 });
  await go(page, '/');
  const toggle = page.getByRole('button', { name: 'Menu' });
  await toggle.click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Upload' }).waitFor();
  await page.screenshot({ path: path.join(opt.out, 'menu-phone.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  assert.ok(written.every((f) => fs.statSync(f).size > 1000));
});

test('the keyboard reaches every control with a visible focus ring', async () => {
  const page = await pageFor('alice');
  await page.setViewportSize({ width: 1280, height: 800 });
  await show('alice', '/upload', (p) => p.getByLabel('Caption'));
  await page.getByLabel('Choose photos, or drop them here').setInputFiles(photoFile);
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  const seen = new Set();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const cs = getComputedStyle(el);
      const name = el.getAttribute('aria-label') || el.labels?.[0]?.innerText || el.innerText || el.id;
      return { tag: el.tagName, name: (name || '').trim().slice(0, 40), ring: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2 };
    });
    if (!info) continue;
    assert.ok(info.ring, `no visible focus ring on ${info.tag} "${info.name}"`);
    seen.add(`${info.tag}:${info.name}`);
  }
  for (const want of ['A:Skip to content', 'A:Upload', 'INPUT:Choose photos', 'TEXTAREA:Caption', 'INPUT:Public', 'INPUT:Key', 'BUTTON:Upload']) {
    assert.ok([...seen].some((n) => n.startsWith(want)), `Tab never reached ${want} (reached ${[...seen].join(' | ')})`);
  }
});

test('no URL a page requested in the whole session carries a credential', () => {
  assert.ok(requestedUrls.length > 100, `only ${requestedUrls.length} requests were seen`);
  assert.ok(issuedTokens.size > 0, 'no login was seen');
  assert.ok(requestedUrls.some((u) => u.includes('/events?ticket=')), 'the job stream was never opened');
  for (const u of requestedUrls) {
    assert.ok(!/[?&](access_token|refresh_token|token|password)=/.test(u), `a credential in ${u}`);
    for (const t of issuedTokens) assert.ok(!u.includes(t), `an access token in ${u}`);
  }
});

test('no uncaught script errors on any page', () => {
  assert.deepEqual(pageErrors, []);
});
