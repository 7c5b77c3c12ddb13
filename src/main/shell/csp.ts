/**
 * The desktop renderer's Content-Security-Policy. Production: scripts only from the app itself, no
 * network at all (the renderer reaches the app through IPC; `connect-src 'self'` is the app scheme,
 * never ws:/wss: to any host), clip videos from cider-media:. Development (`electron-vite dev`)
 * additionally allows the React plugin's inline refresh preamble and the dev server's HMR socket;
 * that relaxation exists only when a dev server origin is given.
 */
export const MEDIA_SCHEME = 'cider-media';

export function desktopCsp(devServer?: string): string {
  const dev = devServer ? new URL(devServer) : undefined;
  const hmr = dev ? `${dev.protocol === 'https:' ? 'wss:' : 'ws:'}//${dev.host}` : '';
  return [
    "default-src 'self'",
    dev ? "script-src 'self' 'unsafe-inline'" : "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `media-src 'self' blob: ${MEDIA_SCHEME}:`,
    "font-src 'self'",
    dev ? `connect-src 'self' ${hmr}` : "connect-src 'self'",
    "object-src 'none'",
    "frame-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Rewrites the CSP meta tag of index.html (the electron-vite dev server's transformIndexHtml hook). */
export function withCspMeta(html: string, csp: string): string {
  const re = /(<meta\s+http-equiv="Content-Security-Policy"\s+content=")[^"]*(")/;
  if (!re.test(html)) throw new Error('index.html has no Content-Security-Policy meta tag to rewrite');
  return html.replace(re, `$1${csp}$2`);
}
