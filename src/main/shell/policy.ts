/**
 * Navigation and permission policy for the app window (Electron security checklist items 12-14).
 */
import { onAppOrigin, type AppOrigin } from './ipc';

export type NavigationDecision = 'allow' | 'open-externally' | 'deny';

/**
 * A frame may navigate only within our own origin, and only the main frame (the app has no frames
 * of its own); http(s) links open in the system browser; everything else is refused.
 */
export function navigationDecision(url: string, isMainFrame: boolean, origin: AppOrigin): NavigationDecision {
  if (isMainFrame && onAppOrigin(url, origin)) return 'allow';
  if (isMainFrame && /^https?:\/\//i.test(url)) return 'open-externally';
  return 'deny';
}

/** Permissions the app's page may use: only fullscreen (the clip player), only from our origin. */
const ALLOWED_PERMISSIONS = new Set(['fullscreen']);

export function permissionAllowed(permission: string, requestingUrl: string | undefined, origin: AppOrigin): boolean {
  return ALLOWED_PERMISSIONS.has(permission) && !!requestingUrl && onAppOrigin(requestingUrl, origin);
}
