/** Raw HTTP over loopback for tests that must send what fetch refuses to: malformed lines, headers, bodies. */
import { connect } from 'node:net';

export interface RawResponse {
  /** the status code of the first response line, or null if the server sent none */
  status: number | null;
  /** everything the server sent, as latin1 text */
  text: string;
}

/**
 * Write `data` to a fresh connection and collect what comes back until the server closes (send
 * `connection: close`), or `timeoutMs` passes: then the socket is dropped. `halfClose` ends the
 * writing side after `data`, for requests that are incomplete on purpose (Node's server then
 * answers 400 at once; note that it also aborts a complete request still being answered). Never rejects.
 */
export function rawRequest(
  port: number,
  data: string | Buffer,
  { timeoutMs = 10_000, halfClose = false }: { timeoutMs?: number; halfClose?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text });
    });
    socket.on('connect', () => (halfClose ? socket.end(data) : socket.write(data)));
  });
}

/** mulberry32: a small seeded PRNG, so a failing fuzz case can be replayed from its seed */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
