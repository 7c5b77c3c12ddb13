/**
 * Web mode against a seeded stream of random and malformed requests (raw sockets over loopback:
 * request lines, headers, cookies, bodies; WebSocket upgrades, raw and through the ws client)
 * while a real job runs. Afterwards: the server answers an authorised call, the job finished,
 * and no response carried a stack trace, a 500, or the content of a file outside the folders it
 * serves (a secret file planted next to the static folder, reachable by symlinks inside it).
 * Replay a failure with CIDER_FUZZ_SEED=<seed printed in the diagnostics>.
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { createApp, type AppServices } from '../../../src/main/services/app';
import { startWebServer, type WebServer } from '../../../src/main/server/web';
import type { JobRecord } from '../../../src/shared/types';
import { rawRequest, seededRandom, type RawResponse } from '../../helpers/rawHttp';
import { tempDir } from '../../helpers/tmp';

const SEED = Number(process.env.CIDER_FUZZ_SEED ?? 13);
const REQUESTS = 2000;
const WS_CLIENTS = 60;
const CONCURRENCY = 12;
const SECRET = `planted-secret-${SEED}-c1d3r`;

let app: AppServices;
let web: WebServer;
const serverLog: string[] = [];
const dir = tempDir();

before(async () => {
  const ui = join(dir, 'ui');
  mkdirSync(join(ui, 'assets'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>CIDer Studio</title>');
  writeFileSync(join(ui, 'assets', 'app.js'), 'console.log("app")');
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  symlinkSync(join(dir, 'secret.txt'), join(ui, 'leak.txt'));
  symlinkSync(dir, join(ui, 'up'));
  app = createApp({ dataDir: join(dir, 'data'), mode: 'web' });
  web = await startWebServer({ app, staticDir: ui, port: 0, log: (m) => serverLog.push(m) });
});
after(async () => {
  await web.close();
  await app.close();
});

test(`web mode survives ${REQUESTS} malformed requests and ${WS_CLIENTS} WebSocket clients while a job runs`, async (t) => {
  const rnd = seededRandom(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const chance = (p: number) => rnd() < p;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const token = web.token;
  const port = web.port;

  const job = (await app.dispatch('jobs.selfTest', { size: 96, iterations: 150 })) as { ok: true; value: JobRecord };
  assert.ok(job.ok);

  const methods = [
    'GET',
    'GET',
    'POST',
    'POST',
    'HEAD',
    'PUT',
    'DELETE',
    'OPTIONS',
    'PATCH',
    'TRACE',
    'G\x00T',
    'BREW',
  ];
  const callNames = [
    'app.status',
    'projects.list',
    'projects.get',
    'jobs.list',
    'jobs.logs',
    'datasets.list',
    'runs.list',
    'clips.get',
    '__proto__',
    'constructor.prototype',
    'toString',
    'app.',
    '.',
    '%',
    'x'.repeat(300),
  ];
  const targets = () =>
    pick([
      '/',
      '/index.html',
      '/assets/app.js',
      '/leak.txt',
      '/up/secret.txt',
      '/up/data/cider.sqlite',
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/%c0%ae%c0%ae/secret.txt',
      '/%',
      '/%00',
      '/a%00b',
      '//other.host/',
      '/\\other.host/',
      '*',
      'http://other.host/',
      `/api/call/${pick(callNames)}`,
      `/api/call/${pick(callNames)}`,
      '/api/media/clips/1',
      '/api/media/clips/99999999999999999999',
      '/api/media/clips/-1',
      '/api/events',
      '/api',
      '/api/',
      `/${bytes(8).toString('latin1')}`,
      `/${'a/'.repeat(3000)}`,
    ]) + pick(['', '', '', `?token=${token}`, '?token=wrong', '?token=%', '?a=%', `?token=${token}&token=x`, '?#frag']);
  const hosts = [
    ...Array.from({ length: 8 }, () => `127.0.0.1:${port}`),
    `localhost:${port}`,
    '%%',
    '[::1',
    'evil.example',
    '',
    `127.0.0.1:${port}\r\nhost: evil.example`,
  ];
  const cookies = [
    '',
    `cider_token=${token}`,
    `cider_token=${token}`,
    'cider_token=%',
    'cider_token=%E0%A4%A',
    `cider_token=${token}; cider_token=%`,
    `cider_token=${encodeURIComponent(token)}%`,
    '=; ;=;;',
    'a'.repeat(5000),
  ];
  const auths = [
    '',
    '',
    `Bearer ${token}`,
    `Bearer ${token}`,
    'Bearer nope',
    'Bearer',
    'Basic Zm9vOmJhcg==',
    'Bearer %',
  ];
  const origins = ['', '', '', `http://127.0.0.1:${port}`, 'http://evil.example', 'null', '%'];
  const bodies = () =>
    pick([
      '',
      '{}',
      '{"id": 1}',
      '{"id": -1, "limit": 1e309}',
      '{"__proto__": {"polluted": true}}',
      'not json',
      '['.repeat(5000),
      JSON.stringify({ name: 'x'.repeat(20_000) }),
      bytes(64).toString('latin1'),
      '{"size": 4, "iterations": 1}',
    ]);

  /** one raw request; `incomplete` ones are half-closed so the server answers (400) at once */
  const randomRequest = (): { data: Buffer; halfClose: boolean } => {
    let incomplete = false;
    const method = pick(methods);
    const version = chance(0.85) ? 'HTTP/1.1' : pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 extra', '']);
    const lines = [`${method} ${targets()} ${version}`.trimEnd()];
    if (!chance(0.05)) lines.push(`host: ${pick(hosts)}`);
    const cookie = pick(cookies);
    if (cookie) lines.push(`cookie: ${cookie}`);
    const auth = pick(auths);
    if (auth) lines.push(`authorization: ${auth}`);
    const origin = pick(origins);
    if (origin) lines.push(`origin: ${origin}`);
    if (chance(0.15)) lines.push(`range: ${pick(['bytes=0-', 'bytes=-5', 'bytes=abc', 'bytes=5-1', 'bytes=0-0,5-9'])}`);
    if (chance(0.05)) lines.push(`${bytes(6).toString('latin1')}: ${bytes(10).toString('latin1')}`);
    if (chance(0.1)) {
      lines.push(
        'upgrade: websocket',
        'connection: upgrade',
        'sec-websocket-version: 13',
        `sec-websocket-key: ${pick(['dGhlIHNhbXBsZSBub25jZQ==', 'short', ''])}`,
      );
      incomplete = true; // an accepted upgrade keeps the socket open: half-close it
    } else lines.push('connection: close');
    let body = method === 'POST' || chance(0.1) ? bodies() : '';
    const framing = rnd();
    if (framing < 0.7) lines.push(`content-length: ${Buffer.byteLength(body, 'latin1')}`);
    else if (framing < 0.8) {
      lines.push(`content-length: ${pick(['-1', 'abc', '99999999999', '10, 20', String(body.length + 5)])}`);
      incomplete = true;
    } else if (framing < 0.9) {
      lines.push('transfer-encoding: chunked');
      body = pick([`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`, 'zz\r\nbad\r\n', `5\r\n${body}`]);
      incomplete = true;
    } else body = '';
    const data = Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
    if (chance(0.03)) return { data: data.subarray(0, Math.floor(rnd() * data.length)), halfClose: true };
    if (chance(0.02)) return { data: bytes(200), halfClose: true };
    return { data, halfClose: incomplete || chance(0.1) };
  };

  const statuses = new Map<string, number>();
  const problems: string[] = [];
  const inspect = (what: string, r: RawResponse | string) => {
    const text = typeof r === 'string' ? r : r.text;
    const status = typeof r === 'string' ? 'ws' : String(r.status);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (text.includes('    at ')) problems.push(`${what}: stack trace in the response`);
    if (text.includes(SECRET)) problems.push(`${what}: the planted secret leaked`);
    if (text.includes('SQLite format')) problems.push(`${what}: the database leaked`);
    if (typeof r !== 'string' && r.status !== null && r.status >= 500 && r.status !== 503)
      problems.push(`${what}: status ${r.status}`);
  };

  const wsClient = async (i: number) => {
    const headers: Record<string, string> = {};
    const cookie = pick(cookies);
    if (cookie) headers.cookie = cookie;
    const auth = pick(auths);
    if (auth) headers.authorization = auth;
    const origin = pick(origins);
    if (origin) headers.origin = origin;
    const path = pick(['/api/events', '/api/events', `/api/events?token=${token}`, '/api/events/../events', '/x']);
    const received: string[] = [];
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, handshakeTimeout: 10_000 });
      const done = () => resolve();
      ws.on('unexpected-response', (_req, res) => {
        let text = `HTTP ${res.statusCode}\r\n`;
        res.on('data', (c: Buffer) => (text += c.toString('latin1')));
        res.on('end', () => {
          received.push(text);
          done();
        });
        res.on('error', done);
      });
      ws.on('message', (m) => received.push(String(m)));
      ws.on('open', () => {
        for (let k = 0; k < 3; k++)
          ws.send(chance(0.5) ? bytes(Math.floor(rnd() * 2000)) : bytes(40).toString('latin1'));
        setImmediate(() => ws.close());
      });
      ws.on('close', done);
      ws.on('error', done);
    });
    inspect(`ws client ${i} ${path}`, received.join('\n'));
  };

  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      if (i % Math.floor(REQUESTS / WS_CLIENTS) === 0) await wsClient(i);
      const { data, halfClose } = randomRequest();
      const r = await rawRequest(port, data, { halfClose, timeoutMs: 10_000 });
      inspect(`request ${i} (${JSON.stringify(data.subarray(0, 80).toString('latin1'))})`, r);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (Date.now() - started) / 1000;

  t.diagnostic(`seed ${SEED}: ${REQUESTS} requests + ${WS_CLIENTS} ws clients in ${seconds.toFixed(1)} s`);
  t.diagnostic(`statuses: ${[...statuses].map(([s, n]) => `${s}x${n}`).join(' ')}`);
  assert.deepEqual(problems.slice(0, 10), [], `seed ${SEED}`);
  assert.ok(
    (statuses.get('200') ?? 0) > 0 && (statuses.get('401') ?? 0) > 0,
    'the fuzz reached both sides of the token check',
  );

  // the server still answers an authorised call
  const res = await fetch(`${web.url}api/call/app.status`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(res.status, 200);
  // the job running throughout was not lost
  const finished = await app.runner.wait(job.value.id);
  assert.equal(finished.status, 'succeeded');
  assert.deepEqual(
    serverLog.filter((l) => /failed/.test(l) && !/reading .* failed/.test(l)),
    [],
    'no handler failed unexpectedly',
  );
});
