/**
 * Runs the built desktop main process (out/main/index.js) under Node with the stand-in `electron`
 * module (electron-standin/electron.mjs) in a child process, records what it reports and drives it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StandinMessage {
  type: string;
  [key: string]: unknown;
}

export interface StandinOptions {
  /** the electron-vite output folder (holding main/, preload/, renderer/) */
  out: string;
  args?: string[];
  /** Electron's appData (the stand-in's); also XDG_CONFIG_HOME so the app's default data folder lands there */
  appData: string;
  messageBoxResponses?: number[];
  env?: NodeJS.ProcessEnv;
}

const register = fileURLToPath(new URL('./electron-standin/register.mjs', import.meta.url));

export class StandinApp {
  readonly messages: StandinMessage[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly waiters: { match: (m: StandinMessage) => boolean; resolve: (m: StandinMessage) => void }[] = [];
  private nextId = 1;
  stderr = '';

  constructor(opts: StandinOptions) {
    this.child = fork(join(opts.out, 'main/index.js'), opts.args ?? [], {
      execArgv: ['--import', register],
      env: {
        ...process.env,
        XDG_CONFIG_HOME: opts.appData,
        CIDER_DATA_DIR: '',
        ELECTRON_RENDERER_URL: '',
        ...opts.env,
        CIDER_STANDIN: JSON.stringify({
          appData: opts.appData,
          appPath: opts.out,
          messageBoxResponses: opts.messageBoxResponses ?? [],
        }),
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.on('message', (m: StandinMessage) => {
      this.messages.push(m);
      for (const w of [...this.waiters])
        if (w.match(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** The first message (already received or coming) that matches; rejects if the process ends first. */
  waitFor(type: string, match: (m: StandinMessage) => boolean = () => true): Promise<StandinMessage> {
    const pred = (m: StandinMessage) => m.type === type && match(m);
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ match: pred, resolve });
      void this.exited.then((code) =>
        reject(new Error(`the app exited (${code}) before sending ${type}; stderr:\n${this.stderr}`)),
      );
    });
  }

  /** Sends a command to the stand-in and resolves with its reply. */
  async command<T = unknown>(cmd: string, fields: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    const reply = this.waitFor('reply', (m) => m.id === id);
    this.child.send({ cmd, id, ...fields });
    const m = await reply;
    if (m.error) throw new Error(String(m.error));
    return m.value as T;
  }

  /** Invokes an API method over the IPC adapter as the given frame would. */
  invoke<T = unknown>(method: string, args: unknown, from = 'main'): Promise<T> {
    return this.command<T>('invoke', { channel: `cider:${method}`, args, from });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill();
  }
}
