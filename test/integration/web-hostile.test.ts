/**
 * Web mode under hostile input, one finding of issue 13 per test: each request below used to take
 * the process down or answer 500; now each gets a 4xx and the server keeps answering.
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { createApp, type AppServices } from '../../src/main/services/app';
import {
  MAX_BODY,
  parseCookies,
  sameOriginLocation,
  startWebServer,
  streamFile,
  type WebServer,
} from '../../src/main/server/web';
import { rawRequest } from '../helpers/rawHttp';
import { tempDir } from '../helpers/tmp';

let app: AppServices;
let web: WebServer;
const dir = tempDir();
const SECRET = 'secret-outside-the-static-folder-7f3a';

before(async () => {
  const staticDir = join(dir, 'ui');
  mkdirSync(staticDir);
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>CIDer Studio</title>');
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  symlinkSync(join(dir, 'secret.txt'), join(staticDir, 'leak.txt'));
  symlinkSync(dir, join(staticDir, 'up'));
  app = createApp({ dataDir: join(dir, 'data'), mode: 'web' });
  web = await startWebServer({ app, staticDir, port: 0, log: () => undefined });
});
after(async () => {
  await web.close();
  await app.close();
});

const host = () => `127.0.0.1:${web.port}`;
const get = (target: string, headers: string[] = []) =>
  rawRequest(
    web.port,
    [`GET ${target} HTTP/1.1`, `host: ${host()}`, 'connection: close', ...headers, '', ''].join('\r\n'),
  );
const stillServing = async () => {
  const res = await fetch(`${web.url}api/call/app.status`, {
    method: 'POST',
    headers: { authorization: `Bearer ${web.token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(res.status, 200);
};
const upgradeStatus = (headers: Record<string, string>, path = '/api/events') =>
  new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${web.port}${path}`, { headers });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', () => undefined);
  });

test('cookies that are not valid percent-encoding are ignored, not thrown', () => {
  assert.deepEqual({ ...parseCookies('cider_token=%; other=a%20b') }, { other: 'a b' });
  assert.deepEqual({ ...parseCookies('cider_token=%E0%A4%A') }, {});
});

test('a WebSocket upgrade with cookie cider_token=% is refused and the server stays up', async () => {
  assert.equal(await upgradeStatus({ cookie: 'cider_token=%' }), 401);
  await stillServing();
});

test('a WebSocket upgrade with an invalid Host is refused and the server stays up', async () => {
  const res = await rawRequest(
    web.port,
    [
      'GET /api/events HTTP/1.1',
      'host: [::1',
      'connection: upgrade',
      'upgrade: websocket',
      'sec-websocket-version: 13',
      'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==',
      `authorization: Bearer ${web.token}`,
      '',
      '',
    ].join('\r\n'),
  );
  assert.equal(res.status, 403);
  await stillServing();
});

test('a bad cookie or Host on plain requests gets 401/403, not 500', async () => {
  assert.equal((await get('/', ['cookie: cider_token=%'])).status, 401);
  const badHost = await rawRequest(web.port, 'GET / HTTP/1.1\r\nhost: %%\r\nconnection: close\r\n\r\n');
  assert.equal(badHost.status, 403);
  const absolute = await get('http://other.example/');
  assert.equal(absolute.status, 400);
});

test('?token= only logs in through a page: API calls and WebSockets carrying it get 401', async () => {
  const api = await fetch(`${web.url}api/call/app.status?token=${web.token}`, { method: 'POST', body: '{}' });
  assert.equal(api.status, 401);
  assert.match(((await api.json()) as { error: { message: string } }).error.message, /only for opening the app/);
  assert.equal(await upgradeStatus({}, `/api/events?token=${web.token}`), 401);
  // with the cookie as well, the token in the address is still refused on the API
  const both = await fetch(`${web.url}api/call/app.status?token=${web.token}`, {
    method: 'POST',
    headers: { cookie: `cider_token=${web.token}` },
    body: '{}',
  });
  assert.equal(both.status, 401);
  const page = await fetch(`${web.url}clips?token=${web.token}&tab=2`, { redirect: 'manual' });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get('location'), '/clips?tab=2');
});

test('the login redirect stays on this origin, whatever the path looks like', async () => {
  for (const path of ['//other.host/', '/\\other.host/', '///other.host/x']) {
    const res = await get(`${path}?token=${web.token}`);
    assert.equal(res.status, 303, `${path}: ${res.text.slice(0, 80)}`);
    const location = /\r\nlocation: ([^\r]*)/i.exec(res.text)![1];
    assert.match(location, /^\/[^/\\]/, `${path} redirected to ${location}`);
  }
  assert.equal(sameOriginLocation(new URL('http://x//evil.example/a?b=1')), '/evil.example/a?b=1');
});

test('an oversize body gets 413 with a JSON error, announced or not', async () => {
  const announced = await rawRequest(
    web.port,
    [
      'POST /api/call/app.status HTTP/1.1',
      `host: ${host()}`,
      `authorization: Bearer ${web.token}`,
      'content-type: application/json',
      `content-length: ${MAX_BODY + 1}`,
      '',
      '{',
    ].join('\r\n'),
  );
  assert.equal(announced.status, 413);
  assert.match(announced.text, /"code":"BAD_REQUEST".*larger than/);
  const res = await fetch(`${web.url}api/call/app.status`, {
    method: 'POST',
    headers: { authorization: `Bearer ${web.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ pad: 'x'.repeat(MAX_BODY) }),
  }).catch((e: Error) => e);
  // undici may see the connection close while it still writes; when it gets the answer, it is 413
  if (!(res instanceof Error)) {
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /larger than/);
  }
  await stillServing();
});

test('a symlink inside the static folder is not followed out of it', async () => {
  for (const path of ['/leak.txt', '/up/secret.txt', '/up/data/cider.sqlite']) {
    const res = await get(path, [`authorization: Bearer ${web.token}`]);
    assert.ok(!res.text.includes(SECRET), `${path} leaked the secret`);
    assert.ok(!res.text.includes('SQLite format'), `${path} leaked the database`);
    assert.ok(res.text.includes('<title>CIDer Studio</title>'), `${path}: ${res.text.slice(0, 80)}`);
  }
});

test('a file that fails to read ends its response with an error, not the process', async () => {
  const server = createServer((_req, res) => streamFile(join(dir, 'no-such-file'), res, () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const gone = await rawRequest(port, 'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    assert.equal(gone.status, 500);
    assert.ok(!gone.text.includes('no-such-file'), 'the path is not disclosed');
    // a folder where the file was: EISDIR on read
    const folder = createServer((_req, res) => streamFile(dir, res, () => undefined));
    await new Promise<void>((r) => folder.listen(0, '127.0.0.1', r));
    const isDir = await rawRequest(
      (folder.address() as AddressInfo).port,
      'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    );
    folder.close();
    assert.equal(isDir.status, 500);
  } finally {
    server.close();
  }
});
