/**
 * Web mode: the same service table over HTTP (POST /api/call/<service.method>) and the same
 * events over a WebSocket (/api/events), plus the built renderer, on loopback by default.
 * Every request must carry the token printed at start: an `Authorization: Bearer` header or the
 * `cider_token` cookie. `?token=` is accepted only to open a page (GET outside /api/): it sets the
 * cookie and redirects to the same path without it, so the token does not stay in the address bar,
 * history or logs; an API or WebSocket request carrying it is refused. Anything else gets 401.
 * The Host header is checked so a DNS-rebinding page cannot reach it.
 *
 * Everything a client sends is hostile until checked, and every handler fails closed: a malformed
 * cookie, Host, Origin, URL or body gets a 4xx answer, never an exception; files are served only
 * when their real path (symlinks resolved) is inside the folder they are served from, through
 * streams with error handlers; an unexpected error answers 500 with no detail (the detail goes to
 * the log) and never reaches the process.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ErrorCode } from '../../shared/errors';
import type { AppServices } from '../services/app';

import { DEFAULT_PORT } from './constants';

export { DEFAULT_PORT };
export const MAX_BODY = 4 * 1024 * 1024;
const COOKIE = 'cider_token';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const STATUS_FOR: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNKNOWN_METHOD: 404,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_INPUT: 422,
  CANCELLED: 409,
  UNSUPPORTED: 422,
  INTERNAL: 500,
};

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

export interface WebServerOptions {
  app: AppServices;
  /** the built renderer (index.html + assets) */
  staticDir: string;
  host?: string;
  port?: number;
  token?: string;
  /** where unexpected errors are reported (default: stderr) */
  log?: (message: string) => void;
}

export interface WebServer {
  url: string;
  /** the URL to open: sets the cookie and redirects to / */
  loginUrl: string;
  token: string;
  host: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Cookies by name; a value that is not valid percent-encoding (any page on localhost can plant one) is skipped. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // malformed: as if absent, so the request is judged on its other credentials
    }
  }
  return out;
}

/** The request target as a URL on this server, or null when it is not a path (absolute-form, garbage). */
export function requestUrl(raw: string | undefined): URL | null {
  if (!raw || !raw.startsWith('/')) return null;
  try {
    // appended, not resolved: "//other.host/" stays a path here instead of naming a host
    const url = new URL(`http://cider.invalid${raw}`);
    return url.host === 'cider.invalid' ? url : null;
  } catch {
    return null;
  }
}

/**
 * A redirect target on this server only: the path (no scheme, no host, no "//host" or "/\\host"
 * that a browser would read as another origin) and the query.
 */
export function sameOriginLocation(url: URL): string {
  const path = '/' + url.pathname.replace(/^[/\\]+/, '');
  return path + url.search;
}

/** `file`'s real path if it is inside `root` (itself a real path) and a regular file, else null. */
export function containedFile(root: string, file: string): string | null {
  try {
    const real = realpathSync(file);
    if (real !== root && !real.startsWith(root + sep)) return null;
    return statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}

class BodyTooLarge extends Error {}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(data),
  });
  res.end(data);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        // stop collecting, answer 413; the connection is closed after the answer
        req.off('data', onData);
        req.resume();
        reject(new BodyTooLarge());
      } else chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Pipe a file to the response; a read error (EIO, replaced by a folder...) ends the response, never the process. */
export function streamFile(
  file: string,
  res: ServerResponse,
  log: (m: string) => void,
  range?: { start: number; end: number },
): void {
  const stream = createReadStream(file, range);
  stream.on('error', (e) => {
    log(`reading ${file} failed: ${e.message}`);
    if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'the file could not be read');
    else res.destroy();
  });
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string): void {
  sendJson(res, status, { ok: false, error: { code, message } });
}

/**
 * A clip's video for the <video> element: GET /api/media/clips/<id>, behind the same token as
 * everything else, with HTTP Range support (206 partial content) so the browser can seek.
 */
async function serveClipMedia(
  app: AppServices,
  id: number,
  req: IncomingMessage,
  res: ServerResponse,
  log: (m: string) => void,
): Promise<void> {
  const env = await app.dispatch('clips.get', { id });
  if (!env.ok) {
    sendJson(res, STATUS_FOR[env.error.code], env);
    return;
  }
  const source = (env.value as { sourcePath: string }).sourcePath;
  // the file the clip was imported from, resolved: it must still be a regular video file (a folder,
  // FIFO or device put in its place, or a link to one, is refused rather than read)
  let file: string;
  let size: number;
  try {
    file = realpathSync(source);
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    sendError(res, 404, 'NOT_FOUND', `clip ${id}: its video file is gone or is no longer a file`);
    return;
  }
  const type = CLIP_MIME[extname(file).toLowerCase()];
  if (!type || CLIP_MIME[extname(source).toLowerCase()] !== type) {
    sendError(res, 404, 'NOT_FOUND', `clip ${id}: its video file is no longer a video`);
    return;
  }
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  let start = 0;
  let end = size - 1;
  if (req.headers.range) {
    if (!range || (range[1] === '' && range[2] === '')) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    if (range[1] === '') start = Math.max(0, size - Number(range[2]));
    else {
      start = Number(range[1]);
      if (range[2] !== '') end = Math.min(size - 1, Number(range[2]));
    }
    if (start >= size || start > end) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
  }
  const headers: Record<string, string | number> = {
    'content-type': type,
    'accept-ranges': 'bytes',
    'content-length': end - start + 1,
    'cache-control': 'no-store',
  };
  if (req.headers.range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(req.headers.range ? 206 : 200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  streamFile(file, res, log, { start, end });
}

const CLIP_MIME: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mov': 'video/quicktime',
  '.mkv': 'video/x-matroska',
};

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const staticRoot = resolve(opts.staticDir);
  const { app } = opts;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  let port = opts.port ?? DEFAULT_PORT;

  const hostAllowed = (req: IncomingMessage): boolean => {
    // Bound to a non-loopback address the user chose explicitly: any Host is theirs to use.
    if (!isLoopback(host)) return true;
    const h = (req.headers.host ?? '').toLowerCase();
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(h);
  };

  /** the Authorization header or the cookie; never the query (see pageLogin) */
  const authorised = (req: IncomingMessage): boolean => {
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && auth.startsWith('Bearer ')) return safeEqual(auth.slice(7).trim(), token);
    const cookie = parseCookies(req.headers.cookie)[COOKIE];
    return typeof cookie === 'string' && safeEqual(cookie, token);
  };

  const originAllowed = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    return origin === undefined || origin === `http://${req.headers.host}`;
  };

  const security = (res: ServerResponse): void => {
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
  };

  const serveStatic = (url: URL, res: ServerResponse): void => {
    const indexFile = join(staticRoot, 'index.html');
    let realRoot: string;
    try {
      realRoot = realpathSync(staticRoot);
    } catch {
      realRoot = staticRoot;
    }
    const index = containedFile(realRoot, indexFile);
    if (!index) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(
        `The user interface is not built (${indexFile} is missing). Run "npm run build:web", or start with "npm run web", which builds it.`,
      );
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400).end('bad path');
      return;
    }
    if (rel.includes('\0')) {
      res.writeHead(400).end('bad path');
      return;
    }
    const file = normalize(join(staticRoot, rel));
    if (file !== staticRoot && !file.startsWith(staticRoot + sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    // the real path must stay inside the folder too: a symlink in it is not followed out of it
    const target = containedFile(realRoot, file) ?? index; // SPA fallback
    res.writeHead(200, {
      'content-type': MIME[extname(target)] ?? 'application/octet-stream',
      'cache-control': target === index ? 'no-store' : 'max-age=3600',
    });
    streamFile(target, res, log);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    security(res);
    if (!hostAllowed(req)) {
      sendError(res, 403, 'UNAUTHORIZED', 'this Host is not allowed');
      return;
    }
    const url = requestUrl(req.url);
    if (!url) {
      sendError(res, 400, 'BAD_REQUEST', 'the request target is not a path on this server');
      return;
    }
    const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/');
    if (url.searchParams.has('token')) {
      // the printed URL: log in through a page only, never an API call
      const given = url.searchParams.get('token') ?? '';
      if (isApi || (req.method !== 'GET' && req.method !== 'HEAD') || !safeEqual(given, token)) {
        sendError(
          res,
          401,
          'UNAUTHORIZED',
          isApi
            ? 'a token in the address is only for opening the app; API calls use the cookie or an Authorization header'
            : 'wrong token: open the URL printed when the server started',
        );
        return;
      }
      res.setHeader('set-cookie', `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
      url.searchParams.delete('token');
      res.writeHead(303, { location: sameOriginLocation(url) }).end();
      return;
    }
    if (!authorised(req)) {
      sendError(res, 401, 'UNAUTHORIZED', 'missing or wrong token: open the URL printed when the server started');
      return;
    }
    if (url.pathname.startsWith('/api/call/')) {
      if (req.method !== 'POST') {
        sendError(res, 405, 'BAD_REQUEST', 'use POST');
        return;
      }
      if (!originAllowed(req)) {
        sendError(res, 403, 'UNAUTHORIZED', 'this Origin is not allowed');
        return;
      }
      let args: unknown = {};
      try {
        const body = await readBody(req);
        args = body ? JSON.parse(body) : {};
      } catch (e) {
        if (e instanceof BodyTooLarge) {
          res.setHeader('connection', 'close');
          sendError(res, 413, 'BAD_REQUEST', `the request body is larger than ${MAX_BODY} bytes`);
          return;
        }
        sendError(res, 400, 'BAD_REQUEST', `request body is not JSON (${(e as Error).message})`);
        return;
      }
      let method: string;
      try {
        method = decodeURIComponent(url.pathname.slice('/api/call/'.length));
      } catch {
        sendError(res, 400, 'BAD_REQUEST', 'the method name is not valid percent-encoding');
        return;
      }
      const envelope = await app.dispatch(method, args);
      sendJson(res, envelope.ok ? 200 : (STATUS_FOR[envelope.error.code] ?? 500), envelope);
      return;
    }
    const media = /^\/api\/media\/clips\/(\d{1,15})$/.exec(url.pathname);
    if (media && (req.method === 'GET' || req.method === 'HEAD')) {
      await serveClipMedia(app, Number(media[1]), req, res, log);
      return;
    }
    if (isApi) {
      sendError(res, 404, 'UNKNOWN_METHOD', 'no such endpoint');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    serveStatic(url, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // the detail (maybe a stack, maybe a path) goes to the log, never to the client
      log(`web: ${req.method} ${String(req.url).slice(0, 200)} failed: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'internal error (details in the server log)');
      else res.destroy();
    });
  });
  // a connection that errors (reset, malformed) is dropped; Node answers 400 itself where it can
  server.on('clientError', (_e, socket: Duplex) => {
    if ((socket as Socket).writable && !(socket as Socket).destroyed)
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<WebSocket>();
  const refuse = (socket: Duplex, status: string) => {
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    socket.destroy();
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const url = requestUrl(req.url);
      if (!hostAllowed(req)) return refuse(socket, '403 Forbidden');
      if (!url) return refuse(socket, '400 Bad Request');
      if (url.pathname !== '/api/events') return refuse(socket, '404 Not Found');
      if (url.searchParams.has('token') || !authorised(req)) return refuse(socket, '401 Unauthorized');
      if (!originAllowed(req)) return refuse(socket, '403 Forbidden');
      wss.handleUpgrade(req, socket, head, (ws) => {
        clients.add(ws);
        ws.on('error', () => ws.terminate());
        ws.on('close', () => clients.delete(ws));
      });
    } catch (e) {
      log(`web: upgrade ${String(req.url).slice(0, 200)} failed: ${(e as Error)?.stack ?? String(e)}`);
      refuse(socket, '400 Bad Request');
    }
  });
  const unsubscribe = app.events.subscribe((event) => {
    const data = JSON.stringify(event);
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(data);
  });

  await new Promise<void>((ok, fail) => {
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' && opts.port === undefined && port !== 0) {
        // the default port is taken: take any free one; the printed URL says which
        port = 0;
        server.listen(0, host);
      } else fail(e);
    };
    server.on('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const base = `http://${shownHost}:${port}`;
  return {
    url: `${base}/`,
    loginUrl: `${base}/?token=${token}`,
    token,
    host,
    port,
    server,
    async close() {
      unsubscribe();
      for (const ws of clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
