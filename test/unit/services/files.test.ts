/**
 * The web-mode file browser stays inside its roots: ".." is refused, folders outside are refused,
 * symlinks leading out are neither listed nor followed, and the parent link stops at the root.
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { filesHandlers, listFolder, resolveRoots } from '../../../src/main/services/files';
import { tempDir } from '../../helpers/tmp';

test('the file browser refuses paths outside its roots (.., symlinks), lists what is inside', async () => {
  const base = tempDir('cider-files-');
  const root = join(base, 'allowed');
  const outside = join(base, 'secret');
  mkdirSync(join(root, 'clips', 'deep'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'passwords.txt'), 'x');
  writeFileSync(join(root, 'clips', 'a.webm'), 'x');
  writeFileSync(join(root, 'clips', 'a.srt'), 'x');
  writeFileSync(join(root, 'clips', '.hidden.webm'), 'x');
  symlinkSync(outside, join(root, 'clips', 'link-out'));
  symlinkSync(join(outside, 'passwords.txt'), join(root, 'clips', 'file-out.webm'));
  symlinkSync(join(root, 'clips', 'deep'), join(root, 'clips', 'link-in'));
  symlinkSync(join(base, 'nothing-here'), join(root, 'clips', 'dangling'));
  const roots = resolveRoots([root]);

  const top = listFolder(roots, undefined);
  assert.equal(top.path, roots[0]);
  assert.equal(top.parent, null, 'no way up from a root');
  const clips = listFolder(roots, join(root, 'clips'));
  assert.deepEqual(
    clips.entries.map((e) => [e.name, e.kind]),
    [
      ['deep', 'folder'],
      ['link-in', 'folder'],
      ['a.srt', 'file'],
      ['a.webm', 'file'],
    ],
    'links out of the roots, dangling links and hidden files are not listed',
  );
  assert.equal(clips.parent, roots[0]);
  assert.deepEqual(
    listFolder(roots, join(root, 'clips'), ['webm']).entries.map((e) => e.name),
    ['deep', 'link-in', 'a.webm'],
  );
  const refused = (path: string, pattern: RegExp) =>
    assert.throws(
      () => listFolder(roots, path),
      (e: Error & { code?: string }) => e.code === 'UNAUTHORIZED' && pattern.test(e.message),
      path,
    );
  refused(`${root}/clips/../../secret`, /"\.\." are refused/);
  refused(`${root}/clips/../clips`, /"\.\." are refused/);
  refused(outside, /outside the folders this server may show/);
  refused(join(root, 'clips', 'link-out'), /outside the folders/);
  refused('/', /outside the folders/);
  assert.throws(() => listFolder(roots, 'clips'), /absolute path/);
  assert.throws(() => listFolder(roots, join(root, 'clips', 'a.webm')), /not a folder/);
  assert.throws(() => resolveRoots([join(base, 'missing')]), /--allow .*missing: no such folder/);

  // through the handlers: web mode has no native dialog, the desktop's is the injected one
  const web = filesHandlers({ fileRoots: roots });
  assert.deepEqual(await web.chooser({}, undefined), { native: false, roots });
  await assert.rejects(
    Promise.resolve().then(() => web.pick({ kind: 'file', multiple: false }, undefined)),
    /use the file browser/,
  );
  const asked: unknown[] = [];
  const desktop = filesHandlers({
    pickPath: async (r) => {
      asked.push(r);
      return ['/chosen/x.eaf'];
    },
  });
  assert.equal((await desktop.chooser({}, undefined)).native, true);
  assert.deepEqual(await desktop.pick({ kind: 'save', multiple: false, extensions: ['eaf'] }, undefined), [
    '/chosen/x.eaf',
  ]);
  assert.deepEqual(asked, [{ kind: 'save', multiple: false, extensions: ['eaf'] }]);
  assert.throws(() => desktop.list({}, undefined), /no folders are open/);
});
