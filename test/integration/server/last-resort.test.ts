/**
 * The last-resort handler, in a child process (an uncaught exception must not reach the test
 * runner): a stray exception and a stray rejection are logged to the log file and the server keeps
 * answering; a flood of them stops the process with a non-zero status after logging why.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../helpers/tmp';

const module = fileURLToPath(new URL('../../../src/main/server/lastResort.ts', import.meta.url));

function child(dir: string, body: string) {
  const script = path.join(dir, 'child.ts');
  fs.writeFileSync(
    script,
    `import { createServer } from 'node:http';
import { fileLogger, installLastResort, webLogFile } from ${JSON.stringify(module)};
const log = fileLogger(webLogFile(${JSON.stringify(dir)}));
installLastResort({ log, maxPerMinute: 5 });
const server = createServer((_req, res) => res.end('alive'));
server.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + (server.address() as { port: number }).port;
  ${body}
});
`,
  );
  return spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
}

test('a stray exception or rejection is logged to <data>/logs/web.log and the server keeps answering', () => {
  const dir = tempDir();
  const r = child(
    dir,
    `setTimeout(() => { throw new Error('stray timer failure'); }, 0);
  void Promise.reject(new Error('stray rejection'));
  await new Promise((ok) => setTimeout(ok, 0));
  await new Promise((ok) => setImmediate(ok));
  await new Promise((ok) => setTimeout(ok, 0));
  const text = await (await fetch(url)).text();
  console.log('answered: ' + text);
  server.close();`,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /answered: alive/);
  const log = fs.readFileSync(path.join(dir, 'logs', 'web.log'), 'utf8');
  assert.match(log, /uncaught exception \(the server keeps running\): Error: stray timer failure\n {4}.*at /);
  assert.match(log, /unhandled rejection \(the server keeps running\): Error: stray rejection/);
});

test('a flood of unexpected errors stops the process (status 70) after logging why', () => {
  const dir = tempDir();
  const r = child(dir, `for (let i = 0; i < 10; i++) setTimeout(() => { throw new Error('again ' + i); }, 0);`);
  assert.equal(r.status, 70, r.stderr);
  assert.match(
    fs.readFileSync(path.join(dir, 'logs', 'web.log'), 'utf8'),
    /6 unexpected errors within a minute: stopping/,
  );
});
