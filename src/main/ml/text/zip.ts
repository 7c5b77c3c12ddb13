/**
 * A small read-only zip reader, enough for PyTorch checkpoints (torch.save's zip format): the
 * central directory (with zip64 records, which torch writes for large files), stored and deflate
 * entries. Entries are read lazily from a file descriptor so a 440 MB checkpoint is never loaded
 * whole just to list it.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { TextModelError } from './config';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export class ZipReader {
  readonly file: string;
  readonly entries: Map<string, ZipEntry>;
  private fd: number;

  constructor(file: string) {
    this.file = file;
    try {
      this.fd = openSync(file, 'r');
    } catch (e) {
      throw new TextModelError(`${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
        file,
      });
    }
    try {
      this.entries = this.readCentralDirectory();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private fail(problem: string): never {
    throw new TextModelError(`${this.file}: ${problem}`, { file: this.file });
  }

  private read(position: number, length: number): Buffer {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, position + done);
      if (n === 0) this.fail(`unexpected end of file at byte ${position + done} (truncated zip)`);
      done += n;
    }
    return buf;
  }

  private readCentralDirectory(): Map<string, ZipEntry> {
    const size = fstatSync(this.fd).size;
    if (size < 22)
      this.fail('not a zip archive (too short); a pytorch_model.bin written by torch.save >= 1.6 is a zip');
    // the end record sits in the last 22 bytes plus a comment of up to 65535 bytes
    const tailLen = Math.min(size, 22 + 65535);
    const tail = this.read(size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0)
      this.fail(
        'not a zip archive (no end-of-central-directory record); legacy (pre-1.6) torch.save files are not supported, re-save with torch >= 1.6 or convert to safetensors',
      );
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== ZIP64_EOCD_LOCATOR) this.fail('zip64 end record locator missing');
      const z64 = Number(tail.readBigUInt64LE(loc + 8));
      const rec = this.read(z64, 56);
      if (rec.readUInt32LE(0) !== ZIP64_EOCD) this.fail('zip64 end record missing');
      count = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    if (cdOffset + cdSize > size) this.fail('central directory runs past the end of the file (truncated download?)');
    const cd = this.read(cdOffset, cdSize);
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) this.fail(`central directory entry ${i} is corrupt`);
      const method = cd.readUInt16LE(p + 10);
      let compressedSize = cd.readUInt32LE(p + 20);
      let uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
      // zip64 extended information: only the fields whose 32-bit slot is 0xffffffff, in this order
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (uncompressed === 0xffffffff) {
            uncompressed = Number(cd.readBigUInt64LE(q));
            q += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = Number(cd.readBigUInt64LE(q));
            q += 8;
          }
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      entries.set(name, { name, method, compressedSize, size: uncompressed, localHeaderOffset });
      p = extraEnd + commentLen;
    }
    return entries;
  }

  /** The bytes of one entry, inflated if needed. */
  readEntry(name: string): Buffer {
    const entry = this.entries.get(name);
    if (!entry) this.fail(`entry ${name} not found in the archive`);
    const local = this.read(entry.localHeaderOffset, 30);
    if (local.readUInt32LE(0) !== LOCAL) this.fail(`entry ${name}: local header is corrupt`);
    const start = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    const raw = this.read(start, entry.compressedSize);
    let data: Buffer;
    if (entry.method === 0) data = raw;
    else if (entry.method === 8) {
      try {
        data = inflateRawSync(raw);
      } catch (e) {
        this.fail(`entry ${name}: deflate data is corrupt (${(e as Error).message})`);
      }
    } else this.fail(`entry ${name}: compression method ${entry.method} is not supported (only stored and deflate)`);
    if (data.length !== entry.size) this.fail(`entry ${name}: expected ${entry.size} bytes, got ${data.length}`);
    return data;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
