import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { createApp, type AppServices } from '../../src/main/services/app';
import { startWebServer, type WebServer } from '../../src/main/server/web';
import type { AppEvent } from '../../src/shared/types';
import { tempDir } from '../helpers/tmp';

let app: AppServices;
let web: WebServer;

const dir = tempDir();
before(async () => {
  const staticDir = join(dir, 'ui');
  mkdirSync(staticDir);
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>CIDer Studio</title>');
  app = createApp({ dataDir: join(dir, 'data'), mode: 'web' });
  web = await startWebServer({ app, staticDir, port: 0 });
});
after(async () => {
  await web.close();
  await app.close();
});

const call = (method: string, args: unknown, headers: Record<string, string> = {}) =>
  fetch(`${web.url}api/call/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(args),
  });
const auth = () => ({ authorization: `Bearer ${web.token}` });

test('binds to loopback and prints a URL carrying a long random token', () => {
  assert.equal(web.host, '127.0.0.1');
  assert.ok(web.token.length >= 32);
  assert.ok(web.loginUrl.endsWith(`?token=${web.token}`));
});

test('requests without the token, or with a wrong one, get 401: API and pages alike', async () => {
  assert.equal((await call('projects.list', {})).status, 401);
  assert.equal((await call('projects.list', {}, { authorization: 'Bearer nope' })).status, 401);
  assert.equal((await fetch(web.url)).status, 401);
  assert.equal((await fetch(`${web.url}?token=wrong`)).status, 401);
  const body = (await (await call('projects.list', {})).json()) as { ok: boolean; error: { code: string } };
  assert.deepEqual([body.ok, body.error.code], [false, 'UNAUTHORIZED']);
});

test('the printed URL sets an HttpOnly cookie that then authorises pages and calls', async () => {
  const res = await fetch(web.loginUrl, { redirect: 'manual' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/');
  const cookie = res.headers.get('set-cookie')!;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const page = await fetch(web.url, { headers: { cookie: cookie.split(';')[0] } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
  assert.match(await page.text(), /CIDer Studio/);
  const list = await call('projects.list', {}, { cookie: cookie.split(';')[0] });
  assert.equal(list.status, 200);
});

test('calls go through the same contract: validation errors and codes map to HTTP statuses', async () => {
  const ok = (await (await call('projects.list', {}, auth())).json()) as { ok: true; value: { name: string }[] };
  assert.deepEqual(
    ok.value.map((p) => p.name),
    ['Demo project'],
  );
  const bad = await call('projects.create', { name: '' }, auth());
  assert.equal(bad.status, 400);
  const missing = await call('projects.get', { id: 999 }, auth());
  assert.equal(missing.status, 404);
  const notJson = await fetch(`${web.url}api/call/projects.list`, { method: 'POST', headers: auth(), body: '{oops' });
  assert.equal(notJson.status, 400);
  assert.equal((await fetch(`${web.url}api/call/projects.list`, { headers: auth() })).status, 405);
});

test('a foreign Host header (DNS rebinding) or Origin is refused even with the token', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: web.port,
        path: '/api/call/projects.list',
        method: 'POST',
        headers: { host: `evil.example:${web.port}`, ...auth() },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode!);
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
  assert.equal(status, 403);
  assert.equal((await call('projects.list', {}, { ...auth(), origin: 'http://evil.example' })).status, 403);
});

test('static files cannot escape the UI folder', async () => {
  for (const path of ['..%2fdata%2fcider.sqlite', '%2e%2e/data/cider.sqlite', '..%5cdata%5ccider.sqlite']) {
    const res = await fetch(`${web.url}${path}`, { headers: auth() });
    const body = await res.text();
    assert.ok(!body.startsWith('SQLite format'), `${path} leaked the database`);
    assert.ok(res.status === 403 || body.includes('<title>CIDer Studio</title>'), `${path}: ${res.status}`);
  }
});

test('events reach WebSocket clients with the token; without it the upgrade is refused', async () => {
  const refused = new WebSocket(`ws://127.0.0.1:${web.port}/api/events`);
  const code = await new Promise<number>((resolve) =>
    refused.on('unexpected-response', (_req, res) => resolve(res.statusCode!)).on('error', () => {}),
  );
  assert.equal(code, 401);

  const ws = new WebSocket(`ws://127.0.0.1:${web.port}/api/events`, { headers: auth() });
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const got: AppEvent[] = [];
  ws.on('message', (m) => got.push(JSON.parse(String(m)) as AppEvent));
  /** resolves once an event matching `pred` has arrived (already, or later) */
  const arrived = (pred: (e: AppEvent) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (got.some(pred)) {
          ws.off('message', check);
          resolve();
        }
      };
      ws.on('message', check);
      check();
    });
  const res = (await (await call('projects.create', { name: 'Via HTTP' }, auth())).json()) as { ok: boolean };
  assert.ok(res.ok);
  const job = (await (await call('jobs.selfTest', { size: 16, iterations: 2 }, auth())).json()) as {
    value: { id: number };
  };
  await app.runner.wait(job.value.id);
  await arrived((e) => e.type === 'projects.changed');
  await arrived((e) => e.type === 'job.updated' && e.job.id === job.value.id && e.job.status === 'succeeded');
  ws.close();
});
