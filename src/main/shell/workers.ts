/**
 * Worker entries from a packaged app. The job worker (and, through the chunks it imports relative
 * to itself, the replica worker) are ESM files of the bundle; in a packaged app the bundle sits in
 * resources/app.asar, which worker threads do not reliably load ESM from. Packaging unpacks out/main
 * and the packages the workers import (scripts/asar-unpack.mjs lists them) into
 * app.asar.unpacked, and the worker is started from there.
 */
import { existsSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ASAR = `${sep}app.asar${sep}`;
const UNPACKED = `${sep}app.asar.unpacked${sep}`;

/** The app.asar.unpacked twin of a file inside app.asar when it exists there; the file itself otherwise. */
export function unpackedEntry(entry: URL, exists: (path: string) => boolean = existsSync): URL {
  const path = fileURLToPath(entry);
  const i = path.lastIndexOf(ASAR);
  if (i < 0) return entry;
  const twin = path.slice(0, i) + UNPACKED + path.slice(i + ASAR.length);
  return exists(twin) ? pathToFileURL(twin) : entry;
}
