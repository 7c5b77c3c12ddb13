import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { AppError } from '../../../src/shared/errors';
import { desktopCsp, withCspMeta } from '../../../src/main/shell/csp';
import { appMenuTemplate, menuRoles } from '../../../src/main/shell/menu';
import { navigationDecision, permissionAllowed } from '../../../src/main/shell/policy';
import { importRequestFor, pathFromArgv } from '../../../src/main/shell/singleInstance';
import { explainStartupFailure } from '../../../src/main/shell/startup';
import { unpackedEntry } from '../../../src/main/shell/workers';
import { tempDir } from '../../helpers/tmp';

const appOrigin = { scheme: 'cider-app', host: 'app' };

test('the production CSP allows no inline script and no WebSocket; the dev one only what the dev server needs', () => {
  const prod = desktopCsp();
  assert.match(prod, /script-src 'self';/);
  assert.match(prod, /connect-src 'self';/);
  assert.doesNotMatch(prod, /unsafe-inline'[^;]*;[^;]*script|ws:|wss:|unsafe-eval/);
  const dev = desktopCsp('http://localhost:5174');
  assert.match(dev, /script-src 'self' 'unsafe-inline';/);
  assert.match(dev, /connect-src 'self' ws:\/\/localhost:5174;/);
  const html = '<meta http-equiv="Content-Security-Policy" content="default-src \'self\'" />';
  assert.equal(
    withCspMeta(html, "x-src 'none'"),
    '<meta http-equiv="Content-Security-Policy" content="x-src \'none\'" />',
  );
  assert.throws(() => withCspMeta('<html></html>', prod), /no Content-Security-Policy meta/);
});

test('navigation stays on our origin; web links go to the browser; frames go nowhere', () => {
  assert.equal(navigationDecision('cider-app://app/index.html', true, appOrigin), 'allow');
  assert.equal(navigationDecision('https://example.org/', true, appOrigin), 'open-externally');
  assert.equal(navigationDecision('file:///etc/passwd', true, appOrigin), 'deny');
  assert.equal(navigationDecision('cider-app://app/index.html', false, appOrigin), 'deny');
  assert.equal(navigationDecision('cider-app://evil/index.html', true, appOrigin), 'deny');
  assert.equal(permissionAllowed('fullscreen', 'cider-app://app/index.html', appOrigin), true);
  for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal'])
    assert.equal(permissionAllowed(p, 'cider-app://app/index.html', appOrigin), false, p);
  assert.equal(permissionAllowed('fullscreen', 'https://example.org/', appOrigin), false);
});

test('production menus have no DevTools or reload; development menus do', () => {
  for (const platform of ['darwin', 'linux', 'win32'] as const) {
    const prod = menuRoles(appMenuTemplate({ platform, dev: false, appName: 'CIDer Studio' }));
    for (const role of ['toggleDevTools', 'reload', 'forceReload'])
      assert.ok(!prod.includes(role), `${platform} ${role}`);
    assert.ok(prod.includes('quit'));
    assert.ok(menuRoles(appMenuTemplate({ platform, dev: true, appName: 'x' })).includes('toggleDevTools'));
  }
});

test('the path to open is the last existing non-option argument, not the app or an option value', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.pkl'), '');
  mkdirSync(join(dir, 'lib'));
  assert.equal(pathFromArgv(['/opt/cider', 'a.pkl'], dir), join(dir, 'a.pkl'));
  assert.equal(pathFromArgv(['/opt/cider', '--data-dir', join(dir, 'lib')], dir), undefined);
  assert.equal(pathFromArgv(['/opt/cider', '--data-dir', 'lib', '--inspect', 'a.pkl'], dir), join(dir, 'a.pkl'));
  assert.equal(pathFromArgv(['/opt/cider', dir], dir, [dir]), undefined, 'the app folder itself is not opened');
  assert.equal(pathFromArgv(['/opt/cider', 'missing.pkl'], dir), undefined);
});

test('a dataset file or a folder of .csd files is imported; anything else is explained', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'm.pkl'), '');
  writeFileSync(join(dir, 'notes.txt'), '');
  const csd = join(dir, 'set');
  mkdirSync(csd);
  for (const n of ['b.csd', 'a.csd', 'readme.md']) writeFileSync(join(csd, n), '');
  assert.deepEqual(importRequestFor(join(dir, 'm.pkl')), {
    ok: true,
    method: 'datasets.import',
    args: { files: [join(dir, 'm.pkl')] },
  });
  assert.deepEqual(importRequestFor(csd), {
    ok: true,
    method: 'datasets.import',
    args: { files: [join(csd, 'a.csd'), join(csd, 'b.csd')] },
  });
  const txt = importRequestFor(join(dir, 'notes.txt'));
  assert.ok(!txt.ok && txt.message.includes('notes.txt'));
  const empty = importRequestFor(dir);
  assert.ok(!empty.ok && /no \.csd files/.test(empty.message));
});

test('a start-up failure names the cause and the fix', () => {
  const db = explainStartupFailure(
    new AppError('INVALID_INPUT', '/d/cider.sqlite: not a CIDer Studio database (file is not a database)'),
    {
      dataDir: '/d',
      logFile: '/d/logs/main.log',
    },
  );
  assert.match(db.message, /\/d\/cider\.sqlite: not a CIDer Studio database/);
  assert.match(db.message, /Move the file named above out of the data folder \(\/d\)/);
  assert.match(db.message, /\/d\/logs\/main\.log/);
  assert.match(explainStartupFailure(new AppError('UNSUPPORTED', 'newer')).message, /Install the newer version/);
  const perm = Object.assign(new Error("EACCES: permission denied, mkdir '/d'"), { code: 'EACCES' });
  assert.match(explainStartupFailure(perm, { dataDir: '/d' }).message, /cannot be written/);
  const native = Object.assign(
    new Error('was compiled against a different Node.js version using NODE_MODULE_VERSION 115'),
    {
      code: 'ERR_DLOPEN_FAILED',
    },
  );
  assert.match(explainStartupFailure(native).message, /Reinstall CIDer Studio/);
});

test('a worker entry inside app.asar is started from its app.asar.unpacked twin when that exists', () => {
  const res = tempDir();
  const inAsar = pathToFileURL(join(res, 'app.asar', 'out', 'main', 'worker.js'));
  assert.equal(unpackedEntry(inAsar).href, inAsar.href, 'no twin: unchanged');
  mkdirSync(join(res, 'app.asar.unpacked', 'out', 'main'), { recursive: true });
  writeFileSync(join(res, 'app.asar.unpacked', 'out', 'main', 'worker.js'), '');
  assert.equal(
    unpackedEntry(inAsar).href,
    pathToFileURL(join(res, 'app.asar.unpacked', 'out', 'main', 'worker.js')).href,
  );
  const plain = pathToFileURL(join(res, 'out', 'main', 'worker.js'));
  assert.equal(unpackedEntry(plain).href, plain.href);
  assert.ok(sep.length === 1);
});
