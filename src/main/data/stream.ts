/**
 * Chunked byte input for the pickle VM and the .npy reader: files are read (and, for joblib's
 * compressed dumps, inflated) a few MB at a time, so a multi-GB file never sits in memory. Large
 * payloads are piped chunk by chunk to a sink (a spill file on disk) instead of being assembled.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { DataImportError, ImportCancelledError } from './errors';

export const DEFAULT_CHUNK = 4 << 20;

/** Bytes that live in a file on disk (a spilled pickle payload), not in memory. */
export class DiskBytes {
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly length: number,
    /** 'utf8' when the payload was a Python str (protocol-2 numpy data goes through str + _codecs.encode) */
    /**
     * 'bytes': raw. 'utf8': a Python str. 'latin1-of-utf8': a str passed through
     * _codecs.encode(s, 'latin1') (how protocol 2 stores bytes): the file holds UTF-8, readers
     * decode each code point (< 256) to one byte.
     */
    readonly encoding: 'bytes' | 'utf8' | 'latin1-of-utf8' = 'bytes',
  ) {}
}

/**
 * The input ended before a structure did: `end` is where the data ends (its length), `wanted` how
 * many more bytes the structure being read needed. For a compressed file both count decompressed bytes.
 */
export class TruncatedError extends Error {
  constructor(
    readonly end: number,
    readonly wanted: number,
    readonly compressed = false,
  ) {
    super(
      `the file is truncated: its ${compressed ? 'decompressed data ends' : 'data ends'} at byte ${end}, but ${wanted} more byte${wanted === 1 ? ' was' : 's were'} needed to finish what starts before it`,
    );
  }
}

export interface ReaderOptions {
  signal?: AbortSignal;
  /** bytes of the file consumed so far (compressed bytes for compressed files) and the file size */
  onProgress?: (read: number, total: number) => void;
  chunkSize?: number;
}

export type Compression = 'none' | 'zlib' | 'gzip';

export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  // zlib header: CMF 0x78, and (CMF*256 + FLG) % 31 == 0
  if (head.length >= 2 && head[0] === 0x78 && ((head[0] << 8) | head[1]) % 31 === 0) return 'zlib';
  return 'none';
}

export async function readHead(file: string, n: number): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Pull-based reader over a file (optionally inflated) or an in-memory buffer. All methods that may
 * need more input are async; the VM checks `avail()` first so that small reads stay synchronous.
 */
export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** stream offset of buf[0] */
  private base = 0;
  private iter: AsyncIterator<Buffer> | null;
  private stream: Readable | null = null;
  private raw: fs.ReadStream | null = null;
  private total = 0;
  private compressed = false;

  private constructor(
    readonly file: string,
    private readonly opts: ReaderOptions,
  ) {
    this.iter = null;
  }

  static fromBuffer(buf: Uint8Array, file = '<buffer>'): ByteReader {
    const r = new ByteReader(file, {});
    r.buf = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    return r;
  }

  /** `label` names the file in errors (defaults to the path) */
  static async fromFile(
    file: string,
    opts: ReaderOptions & { compression?: Compression | 'auto'; label?: string } = {},
  ): Promise<ByteReader> {
    const r = new ByteReader(opts.label ?? file, opts);
    const st = await fs.promises.stat(file);
    if (st.size === 0) throw new DataImportError({ file: r.file }, 'the file is empty (0 bytes)');
    r.total = st.size;
    let compression = opts.compression ?? 'auto';
    if (compression === 'auto') compression = detectCompression(await readHead(file, 2));
    r.compressed = compression !== 'none';
    const raw = fs.createReadStream(file, { highWaterMark: opts.chunkSize ?? DEFAULT_CHUNK });
    r.raw = raw;
    let s: Readable = raw;
    if (compression === 'zlib') s = raw.pipe(zlib.createInflate({ chunkSize: 1 << 20 }));
    else if (compression === 'gzip') s = raw.pipe(zlib.createGunzip({ chunkSize: 1 << 20 }));
    if (s !== raw) raw.on('error', (e) => s.destroy(e));
    r.stream = s;
    r.iter = s[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    return r;
  }

  /** absolute offset in the (decompressed) stream of the next unread byte */
  get offset(): number {
    return this.base + this.pos;
  }

  avail(): number {
    return this.buf.length - this.pos;
  }

  private async pull(): Promise<Buffer | null> {
    if (!this.iter) return null;
    if (this.opts.signal?.aborted) throw new ImportCancelledError(this.file);
    let res: IteratorResult<Buffer>;
    try {
      res = await this.iter.next();
    } catch (e) {
      if (this.opts.signal?.aborted) throw new ImportCancelledError(this.file);
      const msg = e instanceof Error ? e.message : String(e);
      throw new DataImportError(
        { file: this.file },
        `the file could not be read or decompressed (${msg}); it is corrupt or truncated`,
      );
    }
    if (res.done) {
      this.iter = null;
      return null;
    }
    if (this.opts.onProgress && this.raw) this.opts.onProgress(this.raw.bytesRead, this.total);
    return res.value;
  }

  /** the input ended `wanted` bytes short: it ends after the bytes still buffered */
  private truncated(wanted: number): TruncatedError {
    return new TruncatedError(this.offset + this.avail(), wanted, this.compressed);
  }

  /** make at least n bytes available; throws TruncatedError at end of input */
  async fill(n: number): Promise<void> {
    while (this.avail() < n) {
      const chunk = await this.pull();
      if (!chunk) throw this.truncated(n - this.avail());
      if (this.avail() === 0) {
        this.base += this.buf.length;
        this.buf = chunk;
      } else {
        const rest = this.buf.subarray(this.pos);
        this.base += this.pos;
        this.buf = Buffer.concat([rest, chunk]);
      }
      this.pos = 0;
    }
  }

  /** true if at least one more byte exists */
  async more(): Promise<boolean> {
    if (this.avail() > 0) return true;
    try {
      await this.fill(1);
      return true;
    } catch (e) {
      if (e instanceof TruncatedError) return false;
      throw e;
    }
  }

  u8(): number {
    return this.buf[this.pos++];
  }
  u16(): number {
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new DataImportError(
        { file: this.file },
        `a length of ${v} bytes at byte ${this.offset - 8} is larger than any file: the data is corrupt`,
      );
    return Number(v);
  }
  f64be(): number {
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  /** a view of the next n bytes (valid until the next fill); n must be available */
  view(n: number): Buffer {
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** the next n bytes as an owned copy (does not pin the 4 MB chunk in memory) */
  async bytes(n: number): Promise<Buffer> {
    if (n <= (this.opts.chunkSize ?? DEFAULT_CHUNK) * 2) {
      if (this.avail() < n) await this.fill(n);
      return Buffer.from(this.view(n));
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    await this.pipe(n, async (c) => {
      c.copy(out, at);
      at += c.length;
    });
    return out;
  }

  /** stream the next n bytes to `write`, chunk by chunk, awaiting each write (backpressure) */
  async pipe(n: number, write: (chunk: Buffer) => Promise<void> | void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.avail() === 0) {
        const chunk = await this.pull();
        if (!chunk) throw this.truncated(left);
        this.base += this.buf.length;
        this.buf = chunk;
        this.pos = 0;
      }
      const take = Math.min(left, this.avail());
      await write(this.view(take));
      left -= take;
    }
  }

  async skip(n: number): Promise<void> {
    await this.pipe(n, () => undefined);
  }

  /** a protocol-0 text line without its '\n' (latin1) */
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf(0x0a, this.pos);
      if (i >= 0) {
        const s = this.buf.toString('latin1', this.pos, i);
        this.pos = i + 1;
        return s;
      }
      if (this.avail() > 1 << 20)
        throw new DataImportError(
          { file: this.file },
          `a text line starting at byte ${this.offset} runs over 1 MB without ending: the data is corrupt`,
        );
      await this.fill(this.avail() + 1);
    }
  }

  async close(): Promise<void> {
    this.iter = null;
    this.stream?.destroy();
    this.raw?.destroy();
  }
}

/** Writes one spilled payload to its own file. */
export class SpillWriter {
  private fh: fs.promises.FileHandle | null = null;
  private written = 0;
  constructor(
    readonly path: string,
    readonly encoding: 'bytes' | 'utf8',
  ) {}
  async open(): Promise<this> {
    this.fh = await fs.promises.open(this.path, 'w');
    return this;
  }
  async write(c: Uint8Array): Promise<void> {
    let off = 0;
    while (off < c.length) {
      const { bytesWritten } = await this.fh!.write(c, off, c.length - off);
      off += bytesWritten;
    }
    this.written += c.length;
  }
  async close(): Promise<DiskBytes> {
    await this.fh?.close();
    this.fh = null;
    return new DiskBytes(this.path, 0, this.written, this.encoding);
  }
  async abort(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
    await fs.promises.rm(this.path, { force: true });
  }
}

/** Spill large payloads to numbered files in `dir` (the import's temp folder). */
export function spillTo(dir: string, threshold: number) {
  let n = 0;
  return {
    threshold,
    async open(_length: number, encoding: 'bytes' | 'utf8'): Promise<SpillWriter> {
      return new SpillWriter(`${dir}/blob-${n++}.bin`, encoding).open();
    },
  };
}

/**
 * Read the content of a DiskBytes (or an in-memory buffer) in chunks. The yielded buffer is
 * reused: consume it before pulling the next one.
 */
export async function* chunksOf(
  src: DiskBytes | Uint8Array,
  chunk = DEFAULT_CHUNK,
  signal?: AbortSignal,
  file = '',
): AsyncGenerator<Uint8Array> {
  if (src instanceof Uint8Array) {
    for (let o = 0; o < src.length; o += chunk) yield src.subarray(o, Math.min(src.length, o + chunk));
    return;
  }
  const decode = src.encoding === 'latin1-of-utf8';
  const fh = await fs.promises.open(src.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(chunk, Math.max(1, src.length)) + 1);
    let done = 0;
    let carry = -1; // a UTF-8 lead byte split from its continuation byte
    while (done < src.length) {
      if (signal?.aborted) throw new ImportCancelledError(file);
      const want = Math.min(buf.length - 1, src.length - done);
      const { bytesRead } = await fh.read(buf, 0, want, src.offset + done);
      if (bytesRead <= 0) throw new Error(`spill file ${src.path} is shorter than expected`);
      done += bytesRead;
      if (!decode) {
        yield buf.subarray(0, bytesRead);
        continue;
      }
      let o = 0;
      let i = 0;
      if (carry >= 0) {
        buf[o++] = ((carry & 0x1f) << 6) | (buf[i++] & 0x3f);
        carry = -1;
      }
      for (; i < bytesRead; i++) {
        const b = buf[i];
        if (b < 0x80) buf[o++] = b;
        else if (b === 0xc2 || b === 0xc3) {
          if (i + 1 < bytesRead) buf[o++] = ((b & 0x1f) << 6) | (buf[++i] & 0x3f);
          else carry = b;
        } else throw new Error(`spilled string in ${src.path} holds a character above U+00FF; it is not latin-1 data`);
      }
      yield buf.subarray(0, o);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Re-chunk a byte stream so every yielded chunk holds whole elements of `itemsize` bytes
 * (chunks from disk or a decoder can split an element).
 */
export async function* wholeElements(chunks: AsyncIterable<Uint8Array>, itemsize: number): AsyncGenerator<Uint8Array> {
  let carry: Buffer | null = null;
  for await (let c of chunks) {
    if (carry) {
      c = Buffer.concat([carry, c]);
      carry = null;
    }
    const whole = c.length - (c.length % itemsize);
    if (whole < c.length) carry = Buffer.from(c.subarray(whole));
    if (whole > 0) yield c.subarray(0, whole);
  }
  if (carry) throw new Error(`data ends inside an element (${carry.length} of ${itemsize} bytes)`);
}
