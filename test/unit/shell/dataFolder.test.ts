import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from '../../../src/main/services/app';
import { defaultDataDir, legacyDataDir, PRODUCT_NAME, resolveDataDir } from '../../../src/main/services/paths';
import { chooseDataFolder, moveLibrary, QuitRequested } from '../../../src/main/shell/dataFolder';
import type { MessageBoxOptions, ShellDialog } from '../../../src/main/shell/types';
import { tempDir } from '../../helpers/tmp';

function answering(...responses: number[]): ShellDialog & { asked: MessageBoxOptions[] } {
  const asked: MessageBoxOptions[] = [];
  return {
    asked,
    showErrorBox() {
      throw new Error('no error box expected');
    },
    async showMessageBox(o) {
      asked.push(o);
      return { response: responses.shift() ?? 0 };
    },
  };
}

test('one definition: the CLI, web mode and the desktop default to "<appData>/CIDer Studio"', () => {
  const env = { XDG_CONFIG_HOME: '/home/u/.config' };
  assert.equal(defaultDataDir('linux', env), join('/home/u/.config', PRODUCT_NAME));
  assert.equal(resolveDataDir(undefined, env), defaultDataDir(process.platform, env));
  assert.equal(legacyDataDir('linux', env), join('/home/u/.config', 'cider-studio'));
  assert.equal(defaultDataDir('win32', { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }).endsWith(PRODUCT_NAME), true);
  assert.equal(resolveDataDir('/x/lib', env), '/x/lib');
  assert.equal(resolveDataDir(undefined, { ...env, CIDER_DATA_DIR: '/y' }), '/y');
});

test('an explicit folder is used as is and nothing is offered', async () => {
  const appData = tempDir();
  mkdirSync(join(appData, 'cider-studio'));
  writeFileSync(join(appData, 'cider-studio', 'cider.sqlite'), '');
  const dialog = answering();
  const dir = await chooseDataFolder({
    dialog,
    log: () => {},
    flag: '/some/lib',
    env: { XDG_CONFIG_HOME: appData },
    platform: 'linux',
  });
  assert.equal(dir, '/some/lib');
  assert.equal(dialog.asked.length, 0);
});

test('an old library is moved on "Move", kept on "Start empty", and "Quit" quits', async () => {
  const appData = tempDir();
  const env = { XDG_CONFIG_HOME: appData };
  const legacy = legacyDataDir('linux', env);
  const target = defaultDataDir('linux', env);
  const old = createApp({ dataDir: legacy, mode: 'desktop', seedDemo: false });
  old.projects.create('Kept', '');
  await old.close();
  mkdirSync(join(legacy, 'datasets', '1'), { recursive: true });
  writeFileSync(join(legacy, 'datasets', '1', 'features.bin'), 'x');
  writeFileSync(join(legacy, 'SingletonLock'), '');

  await assert.rejects(
    chooseDataFolder({ dialog: answering(2), log: () => {}, env, platform: 'linux' }),
    QuitRequested,
  );
  assert.ok(existsSync(join(legacy, 'cider.sqlite')), 'quitting moves nothing');

  const dialog = answering(0);
  assert.equal(await chooseDataFolder({ dialog, log: () => {}, env, platform: 'linux' }), target);
  assert.match(String(dialog.asked[0].detail), new RegExp(legacy));
  assert.ok(!existsSync(legacy), 'the old folder is gone');
  assert.equal(readFileSync(join(target, 'datasets', '1', 'features.bin'), 'utf8'), 'x');
  const moved = createApp({ dataDir: target, mode: 'desktop', seedDemo: false });
  assert.deepEqual(
    moved.projects.list().map((p) => p.name),
    ['Kept'],
  );
  await moved.close();

  // with a library in both, nothing is asked again
  const again = answering();
  assert.equal(await chooseDataFolder({ dialog: again, log: () => {}, env, platform: 'linux' }), target);
  assert.equal(again.asked.length, 0);
});

test('a move that fails half-way puts back what it moved, so the library stays whole in the old folder', () => {
  const from = tempDir();
  const to = join(tempDir(), 'new');
  for (const n of ['a.txt', 'b.txt', 'cider.sqlite']) writeFileSync(join(from, n), n);
  let calls = 0;
  const failSecond = (src: string, dst: string) => {
    if (++calls === 2) throw new Error('disk unplugged');
    renameSync(src, dst);
  };
  assert.throws(() => moveLibrary(from, to, failSecond), /nothing was moved: disk unplugged/);
  assert.deepEqual(readdirSync(from).sort(), ['a.txt', 'b.txt', 'cider.sqlite']);
  assert.deepEqual(readdirSync(to), []);
  assert.equal(readFileSync(join(from, 'a.txt'), 'utf8'), 'a.txt');
});

test('a database already in the new folder stops the move before anything moves', () => {
  const from = tempDir();
  const to = tempDir();
  writeFileSync(join(from, 'cider.sqlite'), 'old');
  writeFileSync(join(from, 'notes.txt'), 'n');
  writeFileSync(join(to, 'cider.sqlite-wal'), 'stale');
  assert.throws(() => moveLibrary(from, to), /cider\.sqlite-wal already exists/);
  assert.deepEqual(readdirSync(from).sort(), ['cider.sqlite', 'notes.txt']);
});
