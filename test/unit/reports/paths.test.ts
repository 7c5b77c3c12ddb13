/** ExportFolder: nothing is written outside the chosen folder; writes are atomic. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ExportFolder } from '../../../src/main/reports/paths';
import { tempDir } from '../../helpers/tmp';

test('names inside the chosen folder are written atomically, subfolders created', () => {
  const root = tempDir('cider-export-');
  const folder = ExportFolder.open(path.join(root, 'new', 'chosen'));
  assert.equal(folder.root, fs.realpathSync(path.join(root, 'new', 'chosen')), 'a missing folder is created');
  const a = folder.write('a.csv', 'x,y\r\n');
  assert.equal(fs.readFileSync(a.path, 'utf8'), 'x,y\r\n');
  assert.equal(a.bytes, 5);
  folder.write('a.csv', 'replaced');
  assert.equal(fs.readFileSync(a.path, 'utf8'), 'replaced', 'an existing file is replaced');
  const b = folder.write('tables/b.json', new Uint8Array([1, 2, 3]));
  assert.equal(b.path, path.join(folder.root, 'tables', 'b.json'));
  assert.deepEqual(
    fs.readdirSync(folder.root, { recursive: true }).filter((f) => String(f).endsWith('.tmp')),
    [],
    'no temp file left',
  );
  assert.equal(
    ExportFolder.open('chosen', path.join(root, 'new')).root,
    folder.root,
    'a relative folder resolves against the given cwd',
  );
});

test("'..', absolute names and symlink escapes are refused", () => {
  const root = tempDir('cider-export-');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(outside);
  const folder = ExportFolder.open(path.join(root, 'chosen'));
  assert.throws(() => folder.write('../x.html', 'x'), /leaves the chosen folder/);
  assert.throws(() => folder.write('sub/../../x.html', 'x'), /leaves the chosen folder/);
  assert.throws(() => folder.write('..', 'x'), /leaves the chosen folder/);
  assert.throws(() => folder.write(path.join(outside, 'x.html'), 'x'), /absolute path/);
  assert.throws(() => folder.write('C:\\x.html', 'x'), /absolute path/);
  assert.throws(() => folder.write('a\0b', 'x'), /bad file name/);
  // a subfolder that is a symlink to somewhere else
  fs.symlinkSync(outside, path.join(folder.root, 'linked'));
  assert.throws(() => folder.write('linked/x.csv', 'x'), /outside the chosen folder/);
  // a symlink planted at the target name
  fs.symlinkSync(path.join(outside, 'victim.html'), path.join(folder.root, 'r.html'));
  assert.throws(() => folder.write('r.html', 'x'), /symbolic link/);
  // a folder at the target name
  fs.mkdirSync(path.join(folder.root, 'dir.html'));
  assert.throws(() => folder.write('dir.html', 'x'), /is a folder/);
  assert.deepEqual(fs.readdirSync(outside), [], 'nothing was written outside');
  // names that merely start with dots stay inside
  assert.ok(folder.write('..hidden.csv', 'ok').path.startsWith(folder.root + path.sep));
});

test('the chosen folder itself may be a symlink (the user chose it)', () => {
  const root = tempDir('cider-export-');
  fs.mkdirSync(path.join(root, 'real'));
  fs.symlinkSync(path.join(root, 'real'), path.join(root, 'alias'));
  const folder = ExportFolder.open(path.join(root, 'alias'));
  assert.equal(folder.root, fs.realpathSync(path.join(root, 'real')));
  folder.write('x.html', 'x');
  assert.ok(fs.existsSync(path.join(root, 'real', 'x.html')));
});
