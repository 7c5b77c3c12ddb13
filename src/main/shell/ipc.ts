/**
 * The IPC sender check. A call is served only when it comes from the main (top) frame of our own
 * window, showing our own page: the same webContents, a frame without a parent whose process and
 * routing ids are the window's main frame's, and a URL on the app's origin (the app scheme, or the
 * dev server under `electron-vite dev`). Object identity alone is not enough: Electron may hand
 * out a fresh WebFrameMain for the same frame, and a subframe or a page navigated elsewhere in the
 * same window must be refused.
 */
import type { FrameLike, IpcInvokeEventLike, WindowLike } from './types';

/** Where our page lives: `cider-app://app/...` in builds, the dev server's origin in development. */
export interface AppOrigin {
  scheme: string;
  host: string;
}

export function originOf(url: string): AppOrigin | undefined {
  try {
    const u = new URL(url);
    return { scheme: u.protocol.replace(/:$/, ''), host: u.host };
  } catch {
    return undefined;
  }
}

export function onAppOrigin(url: string, origin: AppOrigin): boolean {
  const o = originOf(url);
  return !!o && o.scheme === origin.scheme && o.host === origin.host;
}

export function isMainFrameOf(frame: FrameLike, window: WindowLike): boolean {
  const main = window.webContents.mainFrame;
  return (
    frame.parent === null && !frame.detached && frame.processId === main.processId && frame.routingId === main.routingId
  );
}

export function trustedSender(
  event: IpcInvokeEventLike,
  window: WindowLike | undefined,
  origin: AppOrigin,
): { ok: true } | { ok: false; reason: string } {
  if (!window || window.isDestroyed()) return { ok: false, reason: 'no app window' };
  const frame = event.senderFrame;
  if (!frame) return { ok: false, reason: 'the sending frame is gone' };
  if (event.sender.id !== window.webContents.id) return { ok: false, reason: 'sent from another window' };
  if (!isMainFrameOf(frame, window)) return { ok: false, reason: 'sent from a subframe' };
  if (!onAppOrigin(frame.url, origin)) return { ok: false, reason: `sent from a foreign page (${frame.url})` };
  return { ok: true };
}
