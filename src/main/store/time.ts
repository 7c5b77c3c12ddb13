/** Timestamps as the store records them (ISO 8601, UTC); its own module so migrations need not import db.ts. */
export function nowIso(): string {
  return new Date().toISOString();
}
