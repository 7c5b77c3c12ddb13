/**
 * better-sqlite3 is loaded through one runtime-selecting function (src/main/store/native.ts): a
 * binary of the wrong ABI, or a file that is no native module at all, gives one message that names
 * the file, the problem and the fix, and nothing is opened or written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AppError } from '../../../src/shared/errors';
import { openDatabase } from '../../../src/main/store/db';
import { chooseSqliteBinding, explainLoadFailure, loadSqliteAddon } from '../../../src/main/store/native';
import { runtimeTag } from '../../../src/main/runtime/assets';
import { tempDir } from '../../helpers/tmp';

/**
 * A real native module built for another ABI: a shared object that registers itself with Node as
 * module version `abi` (what node-gyp output for another Node or Electron does), compiled with cc.
 */
function wrongAbiModule(dir: string, abi: number): string | null {
  const src = join(dir, 'other-abi.c');
  const out = join(dir, 'better_sqlite3.node');
  writeFileSync(
    src,
    `#include <stddef.h>
struct node_module { int nm_version; unsigned int nm_flags; void *nm_dso_handle; const char *nm_filename;
  void *nm_register_func; void *nm_context_register_func; const char *nm_modname; void *nm_priv; void *nm_link; };
extern void node_module_register(void *);
static struct node_module m = {${abi}, 0, NULL, "other-abi.c", NULL, NULL, "better_sqlite3", NULL, NULL};
static void __attribute__((constructor)) registerModule(void) { node_module_register(&m); }
`,
  );
  const cc = spawnSync('cc', ['-shared', '-fPIC', '-o', out, src], { encoding: 'utf8' });
  return cc.status === 0 ? out : null;
}

const noCompiler =
  spawnSync('cc', ['--version']).status === 0 ? null : 'no C compiler (cc) to build a wrong-ABI module';

function assertClearError(e: unknown, file: string, problem: RegExp): true {
  assert.ok(e instanceof AppError, `an AppError, got ${String(e)}`);
  assert.equal(e.code, 'UNSUPPORTED');
  assert.ok(e.message.startsWith(`${file}: cannot load SQLite's native module`), e.message);
  assert.match(e.message, problem);
  assert.match(e.message, /Fix: npm rebuild better-sqlite3/);
  assert.doesNotMatch(e.message, /\n/, 'one line, no stack trace');
  return true;
}

test(
  'a better-sqlite3 binary built for another ABI is refused with the fix named',
  { skip: noCompiler ?? false },
  () => {
    const dir = tempDir();
    const other = process.versions.modules === '149' ? 140 : 149;
    const file = wrongAbiModule(dir, other);
    assert.ok(file, 'cc built the module');
    assert.throws(
      () => loadSqliteAddon({ file, source: 'env' }),
      (e) =>
        assertClearError(
          e,
          file,
          new RegExp(`built for ABI v${other} but Node \\S+ needs ABI v${process.versions.modules}`),
        ),
    );
  },
);

test('opening the store with a file that is no native module names the file and the fix, and creates nothing', () => {
  const dir = tempDir();
  const fake = join(dir, 'better_sqlite3.node');
  writeFileSync(fake, 'this is a text file, not a shared object\n');
  const data = join(dir, 'data');
  const saved = process.env.CIDER_SQLITE_BINDING;
  process.env.CIDER_SQLITE_BINDING = fake;
  try {
    assert.throws(
      () => openDatabase(join(data, 'cider.db')),
      (e) => assertClearError(e, fake, /it is not a native module for/),
    );
  } finally {
    if (saved === undefined) delete process.env.CIDER_SQLITE_BINDING;
    else process.env.CIDER_SQLITE_BINDING = saved;
  }
  assert.ok(!existsSync(join(data, 'cider.db')), 'no database file was created');
  // and with the right binary the same call works
  const db = openDatabase(join(data, 'cider.db'));
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  db.close();
});

test('a missing binary is named as missing', () => {
  const file = join(tempDir(), 'nowhere', 'better_sqlite3.node');
  assert.throws(
    () => loadSqliteAddon({ file, source: 'env' }),
    (e) => assertClearError(e, file, /the file does not exist/),
  );
});

test("the runtime's own build under native/<tag>/ wins over the package's, and the override over both", () => {
  const dir = tempDir();
  const own = join(dir, 'native', runtimeTag(), 'better_sqlite3.node');
  const pkg = join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  assert.deepEqual(chooseSqliteBinding({}, [own, pkg]), { file: pkg, source: 'package' });
  mkdirSync(join(dir, 'native', runtimeTag()), { recursive: true });
  writeFileSync(own, '');
  assert.deepEqual(chooseSqliteBinding({}, [own, pkg]), { file: own, source: 'runtime' });
  assert.deepEqual(chooseSqliteBinding({ CIDER_SQLITE_BINDING: '/x.node' }, [own, pkg]), {
    file: '/x.node',
    source: 'env',
  });
  assert.equal(readdirSync(join(dir, 'native')).length, 1);
});

test('under Electron the fix is the Electron rebuild', () => {
  const versions = { ...process.versions, electron: '44.11.5', modules: '149' } as NodeJS.ProcessVersions;
  const msg = explainLoadFailure(
    '/app/better_sqlite3.node',
    new Error(
      "The module '/app/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 149. Please try re-compiling",
    ),
    versions,
  );
  assert.match(msg, /built for ABI v115 but Electron 44\.11\.5 needs ABI v149/);
  assert.match(msg, /Fix: npm run rebuild:electron .*native\/electron-v149-/);
});
