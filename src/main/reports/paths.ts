/**
 * Where exports may write: only inside the folder the user chose. The folder is resolved and
 * realpath'd once (it may itself be a symlink: the user chose it); every file name is relative, has
 * no '..' segment, and its parent folder's realpath must lie inside the chosen folder's, so a
 * symlinked subfolder pointing elsewhere is refused. A file is written to a temp name beside its
 * target and renamed over it (atomic on one file system); an existing symlink or folder at the
 * target is refused rather than replaced.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../shared/errors';

export class ExportFolder {
  private constructor(
    /** realpath of the chosen folder */
    readonly root: string,
  ) {}

  /** Resolve (relative to `cwd`), create when missing, and realpath the chosen folder. */
  static open(folder: string, cwd = process.cwd()): ExportFolder {
    if (folder.includes('\0')) throw new AppError('INVALID_INPUT', 'the folder path contains a NUL character');
    const abs = path.resolve(cwd, folder);
    try {
      fs.mkdirSync(abs, { recursive: true });
    } catch (e) {
      throw new AppError('INVALID_INPUT', `cannot create the folder ${abs}: ${(e as Error).message}`);
    }
    const real = fs.realpathSync(abs);
    if (!fs.statSync(real).isDirectory()) throw new AppError('INVALID_INPUT', `${abs} is not a folder`);
    return new ExportFolder(real);
  }

  /** The absolute target of a relative name, after the checks (creates its subfolders inside the root). */
  target(name: string): string {
    if (!name || name.includes('\0')) throw new AppError('INVALID_INPUT', `bad file name "${name}"`);
    if (path.isAbsolute(name) || path.win32.isAbsolute(name))
      throw new AppError('INVALID_INPUT', `"${name}" is an absolute path; exports take names inside the chosen folder`);
    const parts = name.split(/[\\/]+/);
    if (parts.some((p) => p === '..')) throw new AppError('INVALID_INPUT', `"${name}" leaves the chosen folder ('..')`);
    const abs = path.resolve(this.root, ...parts);
    if (!this.inside(abs))
      throw new AppError('INVALID_INPUT', `"${name}" resolves outside the chosen folder ${this.root}`);
    const parent = path.dirname(abs);
    // create subfolders one by one, each checked, so a symlinked component is caught before use
    let at = this.root;
    for (const part of path.relative(this.root, parent).split(path.sep).filter(Boolean)) {
      at = path.join(at, part);
      if (!fs.existsSync(at)) fs.mkdirSync(at);
      const real = fs.realpathSync(at);
      if (!this.inside(real))
        throw new AppError(
          'INVALID_INPUT',
          `"${name}": ${at} is a link to ${real}, outside the chosen folder ${this.root}`,
        );
    }
    const realParent = fs.realpathSync(parent);
    if (!this.inside(realParent))
      throw new AppError('INVALID_INPUT', `"${name}" resolves outside the chosen folder ${this.root}`);
    const target = path.join(realParent, path.basename(abs));
    const st = fs.lstatSync(target, { throwIfNoEntry: false });
    if (st?.isSymbolicLink())
      throw new AppError('INVALID_INPUT', `${target} is a symbolic link; not writing through it`);
    if (st?.isDirectory()) throw new AppError('INVALID_INPUT', `${target} is a folder`);
    return target;
  }

  /** Write atomically: a temp file beside the target, flushed, then renamed over it. */
  write(name: string, data: string | Uint8Array): { path: string; bytes: number } {
    const target = this.target(name);
    const tmp = path.join(
      path.dirname(target),
      `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.renameSync(tmp, target);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    return { path: target, bytes: bytes.byteLength };
  }

  private inside(p: string): boolean {
    const rel = path.relative(this.root, p);
    return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
  }
}
