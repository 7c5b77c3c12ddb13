/**
 * Web mode: the same service table over HTTP (POST /api/call/<service.method>) and the same
 * events over a WebSocket (/api/events), plus the built renderer, on loopback by default.
 * Every request must carry the token printed at start: an `Authorization: Bearer` header, the
 * `cider_token` cookie set when the printed URL is opened, or `?token=` on that first request.
 * Anything else gets 401. The Host header is checked so a DNS-rebinding page cannot reach it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ErrorCode } from '../../shared/errors';
import type { AppServices } from '../services/app';

import { DEFAULT_PORT } from './constants';

export { DEFAULT_PORT };
const MAX_BODY = 4 * 1024 * 1024;
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

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

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
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error(`request body larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * A clip's video for the <video> element: GET /api/media/clips/<id>, behind the same token as
 * everything else, with HTTP Range support (206 partial content) so the browser can seek.
 */
async function serveClipMedia(app: AppServices, id: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const env = await app.dispatch('clips.get', { id });
  if (!env.ok) {
    sendJson(res, STATUS_FOR[env.error.code], env);
    return;
  }
  const file = (env.value as { sourcePath: string }).sourcePath;
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    sendJson(res, 404, { ok: false, error: { code: 'NOT_FOUND', message: `${file}: the clip's video file is gone` } });
    return;
  }
  const type = CLIP_MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
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
  createReadStream(file, { start, end }).pipe(res);
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
  let port = opts.port ?? DEFAULT_PORT;

  const hostAllowed = (req: IncomingMessage): boolean => {
    // Bound to a non-loopback address the user chose explicitly: any Host is theirs to use.
    if (!isLoopback(host)) return true;
    const h = (req.headers.host ?? '').toLowerCase();
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(h);
  };

  const tokensOf = (req: IncomingMessage, url: URL): string[] => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return [auth.slice(7).trim()];
    // every credential presented counts: a cookie left by an earlier server on this host (cookies
    // ignore the port) must not shadow the token of the URL this server printed
    return [parseCookies(req.headers.cookie)[COOKIE], url.searchParams.get('token')].filter(
      (t): t is string => typeof t === 'string',
    );
  };

  const authorised = (req: IncomingMessage, url: URL): boolean => tokensOf(req, url).some((t) => safeEqual(t, token));

  const security = (res: ServerResponse): void => {
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
  };

  const serveStatic = (url: URL, res: ServerResponse): void => {
    const indexFile = join(staticRoot, 'index.html');
    if (!existsSync(indexFile)) {
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
    const file = normalize(join(staticRoot, rel));
    if (file !== staticRoot && !file.startsWith(staticRoot + sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    const target = existsSync(file) && statSync(file).isFile() ? file : indexFile; // SPA fallback
    res.writeHead(200, {
      'content-type': MIME[extname(target)] ?? 'application/octet-stream',
      'cache-control': target === indexFile ? 'no-store' : 'max-age=3600',
    });
    createReadStream(target).pipe(res);
  };

  const server = createServer((req, res) => {
    void (async () => {
      security(res);
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
      if (!hostAllowed(req)) {
        sendJson(res, 403, {
          ok: false,
          error: { code: 'UNAUTHORIZED', message: `host "${req.headers.host}" not allowed` },
        });
        return;
      }
      if (!authorised(req, url)) {
        sendJson(res, 401, {
          ok: false,
          error: {
            code: 'UNAUTHORIZED',
            message: 'missing or wrong token: open the URL printed when the server started',
          },
        });
        return;
      }
      if (url.searchParams.has('token') && req.method === 'GET' && !url.pathname.startsWith('/api/')) {
        // First visit through the printed URL: keep the token in a cookie, drop it from the address bar.
        res.setHeader('set-cookie', `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
        url.searchParams.delete('token');
        res.writeHead(303, { location: url.pathname + (url.search || '') }).end();
        return;
      }
      if (url.pathname.startsWith('/api/call/')) {
        if (req.method !== 'POST') {
          sendJson(res, 405, { ok: false, error: { code: 'BAD_REQUEST', message: 'use POST' } });
          return;
        }
        const origin = req.headers.origin;
        if (origin && origin !== `http://${req.headers.host}`) {
          sendJson(res, 403, { ok: false, error: { code: 'UNAUTHORIZED', message: `origin ${origin} not allowed` } });
          return;
        }
        let args: unknown = {};
        try {
          const body = await readBody(req);
          args = body ? JSON.parse(body) : {};
        } catch (e) {
          sendJson(res, 400, {
            ok: false,
            error: { code: 'BAD_REQUEST', message: `request body is not JSON (${(e as Error).message})` },
          });
          return;
        }
        const envelope = await app.dispatch(url.pathname.slice('/api/call/'.length), args);
        sendJson(res, envelope.ok ? 200 : STATUS_FOR[envelope.error.code], envelope);
        return;
      }
      const media = /^\/api\/media\/clips\/(\d+)$/.exec(url.pathname);
      if (media && (req.method === 'GET' || req.method === 'HEAD')) {
        await serveClipMedia(app, Number(media[1]), req, res);
        return;
      }
      if (url.pathname.startsWith('/api/')) {
        sendJson(res, 404, {
          ok: false,
          error: { code: 'UNKNOWN_METHOD', message: `no such endpoint ${url.pathname}` },
        });
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      serveStatic(url, res);
    })().catch((e: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, { ok: false, error: { code: 'INTERNAL', message: (e as Error).message } });
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    const origin = req.headers.origin;
    if (
      url.pathname !== '/api/events' ||
      !hostAllowed(req) ||
      !authorised(req, url) ||
      (origin && origin !== `http://${req.headers.host}`)
    ) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
    });
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
