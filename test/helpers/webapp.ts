/**
 * Starts the real web mode (`bin/cider.mjs web`) as a child process on a free loopback port and
 * reads the URL and token it prints. Used by integration and end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface WebApp {
  url: string;
  loginUrl: string;
  token: string;
  process: ChildProcess;
  output: () => string;
  /** POST a contract call with the token */
  call<T>(method: string, args?: unknown): Promise<T>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const cli = fileURLToPath(new URL('../../bin/cider.mjs', import.meta.url));

export async function startWebApp(dataDir: string, extraArgs: string[] = []): Promise<WebApp> {
  const child = spawn(process.execPath, [cli, 'web', '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const started = await new Promise<{ loginUrl: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`web mode did not start in 60 s:\n${out}`)), 60_000);
    const check = () => {
      const login = /open: (\S+)/.exec(out);
      const token = /token: (\S+)/.exec(out);
      if (login && token && /listening on/.test(out)) {
        clearTimeout(timer);
        resolve({ loginUrl: login[1], token: token[1] });
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`web mode exited with ${code}:\n${out}`));
    });
  });
  const url = new URL('/', started.loginUrl).toString();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    loginUrl: started.loginUrl,
    token: started.token,
    process: child,
    output: () => out,
    async call<T>(method: string, args: unknown = {}) {
      const res = await fetch(new URL(`/api/call/${method}`, url), {
        method: 'POST',
        headers: { authorization: `Bearer ${started.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(args),
      });
      const env = (await res.json()) as { ok: boolean; value?: T; error?: { code: string; message: string } };
      if (!env.ok) throw Object.assign(new Error(env.error!.message), { code: env.error!.code });
      return env.value as T;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
