/** Test helpers: temp folders and the Debian-python scripts in test/helpers/py that write fixtures. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PY_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'py');
/** Debian's python3 has numpy, joblib and h5py; the pyenv python first on PATH does not */
export const PYTHON = process.env.CIDER_TEST_PYTHON ?? '/usr/bin/python3';

export function pythonHas(...modules: string[]): boolean {
  try {
    execFileSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function py(script: string, args: string[]): string {
  return execFileSync(PYTHON, [path.join(PY_DIR, script), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

export function tempDir(prefix = 'cider-data-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface MmsaExpectSplit {
  id: string[];
  raw_text: string[];
  text_bert: number[][][];
  audio: number[];
  vision: number[];
  audio_shape: number[];
  vision_shape: number[];
  audio_lengths: number[];
  vision_lengths: number[];
  regression: number[];
  labels3: number[];
  labels7: number[];
  neginf: number;
  text: number[] | null;
}
export type MmsaExpect = Record<'train' | 'valid' | 'test', MmsaExpectSplit>;

/** write an MMSA-layout file with make_mmsa.py; returns its path and every value it holds */
export function makeMmsa(dir: string, name: string, args: string[] = []): { file: string; expect: MmsaExpect } {
  const file = path.join(dir, name);
  const ej = path.join(dir, `${name}.expect.json`);
  py('make_mmsa.py', [file, '--expect', ej, ...args]);
  return { file, expect: JSON.parse(fs.readFileSync(ej, 'utf8')) as MmsaExpect };
}
