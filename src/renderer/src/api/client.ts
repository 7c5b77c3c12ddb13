/**
 * The renderer's one client for the contract. Under Electron the preload exposes `window.cider`
 * (named functions returning envelopes, plus onEvent); in web mode the same calls go over HTTP and
 * events over a WebSocket. Callers see the typed `Api` and `AppError`s either way.
 */
import { contract, type Api, type MethodId } from '../../../shared/api';
import { AppError, type Envelope } from '../../../shared/errors';
import type { AppEvent } from '../../../shared/types';

export interface Transport {
  call(method: MethodId, args: unknown): Promise<Envelope<unknown>>;
  onEvent(listener: (e: AppEvent) => void): () => void;
  kind: 'ipc' | 'http';
}

/** What the preload puts on window (see src/preload/index.ts). */
export interface PreloadBridge {
  call: Record<string, Record<string, (args: unknown) => Promise<Envelope<unknown>>>>;
  onEvent(listener: (e: AppEvent) => void): () => void;
}

declare global {
  interface Window {
    cider?: PreloadBridge;
  }
}

export function ipcTransport(bridge: PreloadBridge): Transport {
  return {
    kind: 'ipc',
    call: (method, args) => {
      const [service, name] = method.split('.');
      return bridge.call[service][name](args);
    },
    onEvent: (l) => bridge.onEvent(l),
  };
}

export function httpTransport(base: string = location.origin): Transport {
  const listeners = new Set<(e: AppEvent) => void>();
  let socket: WebSocket | undefined;
  let retry = 500;
  const connect = () => {
    const url = new URL('/api/events', base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(url);
    socket.onopen = () => (retry = 500);
    socket.onmessage = (m) => {
      const event = JSON.parse(String(m.data)) as AppEvent;
      for (const l of listeners) l(event);
    };
    socket.onclose = () => {
      socket = undefined;
      if (listeners.size) setTimeout(connect, (retry = Math.min(retry * 2, 10_000)));
    };
  };
  return {
    kind: 'http',
    async call(method, args) {
      let res: Response;
      try {
        res = await fetch(new URL(`/api/call/${method}`, base), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          credentials: 'same-origin',
          body: JSON.stringify(args ?? {}),
        });
      } catch (e) {
        return {
          ok: false,
          error: { code: 'INTERNAL', message: `cannot reach the CIDer Studio server (${(e as Error).message})` },
        };
      }
      try {
        return (await res.json()) as Envelope<unknown>;
      } catch {
        return { ok: false, error: { code: 'INTERNAL', message: `server answered ${res.status} without an envelope` } };
      }
    },
    onEvent(l) {
      listeners.add(l);
      if (!socket) connect();
      return () => {
        listeners.delete(l);
        if (!listeners.size) socket?.close();
      };
    },
  };
}

export function createApi(transport: Transport): Api {
  const api: Record<string, Record<string, (args: unknown) => Promise<unknown>>> = {};
  for (const [service, methods] of Object.entries(contract)) {
    api[service] = {};
    for (const name of Object.keys(methods)) {
      api[service][name] = async (args: unknown) => {
        const env = await transport.call(`${service}.${name}` as MethodId, args ?? {});
        if (!env.ok) throw AppError.from(env.error);
        return env.value;
      };
    }
  }
  return api as Api;
}

/** The scheme the desktop app serves clip videos on (registered in src/main/index.ts). */
export const DESKTOP_MEDIA_SCHEME = 'cider-media';

/**
 * Where the <video> element reads a clip: the desktop app's media protocol under Electron, the
 * token-protected /api/media route in web mode (the token travels in the cookie).
 */
export function clipMediaUrl(id: number): string {
  return window.cider ? `${DESKTOP_MEDIA_SCHEME}://clips/${id}` : `/api/media/clips/${id}`;
}

export function defaultTransport(): Transport {
  return window.cider ? ipcTransport(window.cider) : httpTransport();
}
