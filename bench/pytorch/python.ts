/**
 * Which Python runs the PyTorch side of the benches. The `python3` first on PATH here is a pyenv
 * shim without torch, while Debian's /usr/bin/python3 has python3-torch (torch 1.13); so the
 * interpreter is chosen by whether it imports torch, not by PATH order:
 *   1. $CIDER_PYTHON when set (used as given: if it cannot import torch, that is the reason shown);
 *   2. else the first of /usr/bin/python3, python3, python that imports torch.
 * Not a bench itself (bench/run.ts only runs bench/*.ts).
 */
import { spawnSync } from 'node:child_process';

export interface TorchPython {
  /** the interpreter to spawn */
  python: string;
  /** torch.__version__ */
  torch: string;
  /** torch.get_num_threads() before any set_num_threads: what a plain script would get */
  defaultThreads: number;
}

const PROBE = 'import torch, json; print(json.dumps([torch.__version__, torch.get_num_threads()]))';

function probe(python: string): TorchPython | string {
  const r = spawnSync(python, ['-c', PROBE], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) return `${python}: ${r.error.message}`;
  if (r.status !== 0) return `${python}: ${(r.stderr || '').trim().split('\n').at(-1) ?? `exit ${r.status}`}`;
  const [torch, defaultThreads] = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as [string, number];
  return { python, torch, defaultThreads };
}

/** The Python with torch, or why there is none (e.g. "apt-get install python3-torch"). */
export function findTorchPython(): { found: TorchPython } | { reason: string } {
  const forced = process.env.CIDER_PYTHON;
  if (forced) {
    const p = probe(forced);
    return typeof p === 'string' ? { reason: `CIDER_PYTHON cannot import torch (${p})` } : { found: p };
  }
  const tried: string[] = [];
  for (const python of ['/usr/bin/python3', 'python3', 'python']) {
    const p = probe(python);
    if (typeof p !== 'string') return { found: p };
    tried.push(p);
  }
  return {
    reason: `no Python here imports torch (apt-get install python3-torch, or set CIDER_PYTHON); tried ${tried.join('; ')}`,
  };
}
