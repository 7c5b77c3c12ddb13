/**
 * Real cluster services for the executor tests, started and stopped by the tests: a single-node
 * SLURM cluster (munged + slurmctld + slurmd from Debian's slurm-wlm and munge, a generated
 * slurm.conf in a temp folder, free loopback ports) and a redis-server on a free loopback port.
 * Each says why it cannot start instead of failing, so the tests skip with that reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Slurm {
  env: { SLURM_CONF: string };
  dir: string;
  run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string };
  stop(): Promise<void>;
}

/** Why SLURM cannot run here, or null. */
export function slurmMissing(): string | null {
  for (const b of ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel'])
    if (!which(b)) return `${b} is not installed (Debian packages slurm-wlm and munge)`;
  if (process.getuid?.() !== 0) return 'a single-node SLURM cluster runs its daemons as root';
  return null;
}

export async function startSlurm(dir: string): Promise<Slurm> {
  const host = os.hostname().split('.')[0];
  const p = (...parts: string[]) => path.join(dir, ...parts);
  for (const d of ['state', 'spool', 'log', 'munge']) fs.mkdirSync(p(d), { recursive: true });
  fs.writeFileSync(p('munge', 'munge.key'), Buffer.from(Array.from({ length: 128 }, () => (Math.random() * 256) | 0)), {
    mode: 0o600,
  });
  const socket = p('munge', 'munge.socket');
  const munged = spawnSync(
    which('munged'),
    [
      '--force',
      '-S',
      socket,
      '--key-file',
      p('munge', 'munge.key'),
      '--pid-file',
      p('munge', 'munged.pid'),
      '--log-file',
      p('munge', 'munged.log'),
      '--seed-file',
      p('munge', 'seed'),
    ],
    { encoding: 'utf8' },
  );
  if (munged.status !== 0) throw new Error(`munged did not start: ${munged.stderr}`);
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = p('slurm.conf');
  fs.writeFileSync(
    conf,
    [
      'ClusterName=cidertest',
      `SlurmctldHost=${host}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      `AuthInfo=socket=${socket}`,
      'CredType=cred/munge',
      `StateSaveLocation=${p('state')}`,
      `SlurmdSpoolDir=${p('spool')}`,
      `SlurmctldPidFile=${p('slurmctld.pid')}`,
      `SlurmdPidFile=${p('slurmd.pid')}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SchedulerType=sched/backfill',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'ReturnToService=2',
      'JobRequeue=1',
      'MinJobAge=600',
      'MpiDefault=none',
      `SlurmctldLogFile=${p('log', 'slurmctld.log')}`,
      `SlurmdLogFile=${p('log', 'slurmd.log')}`,
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      `NodeName=${host} CPUs=${os.cpus().length} RealMemory=2000 State=UNKNOWN`,
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  for (const daemon of ['slurmctld', 'slurmd']) {
    const r = run(which(daemon), ['-f', conf]);
    if (r.status !== 0) throw new Error(`${daemon} did not start: ${r.stderr}`);
  }
  // SIGTERM, then wait for the daemons to exit: slurmctld writes its state on the way out, and the
  // temp folder is removed after the test
  const stop = async () => {
    const pids: number[] = [];
    for (const pid of ['slurmd.pid', 'slurmctld.pid', path.join('munge', 'munged.pid')]) {
      try {
        const n = Number(fs.readFileSync(p(pid), 'utf8'));
        process.kill(n, 'SIGTERM');
        pids.push(n);
      } catch {
        // not running
      }
    }
    const alive = (n: number) => {
      try {
        process.kill(n, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(100);
    for (const n of pids.filter(alive)) process.kill(n, 'SIGKILL');
  };
  for (let i = 0; i < 60; i++) {
    const s = run('sinfo', ['-h', '-o', '%T']);
    if (s.status === 0 && /idle|mixed|alloc/.test(s.stdout)) return { env: { SLURM_CONF: conf }, dir, run, stop };
    await sleep(500);
  }
  await stop();
  throw new Error(`the SLURM node did not come up: ${fs.readFileSync(p('log', 'slurmctld.log'), 'utf8').slice(-2000)}`);
}

export interface Redis {
  url: string;
  stop(): void;
}

export function redisMissing(): string | null {
  return which('redis-server') ? null : 'redis-server is not installed (Debian package redis-server)';
}

export async function startRedis(dir: string): Promise<Redis> {
  const port = await freePort();
  const proc: ChildProcess = spawn(
    which('redis-server'),
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  for (let i = 0; i < 100; i++) {
    if (/Ready to accept connections/.test(out))
      return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill('SIGTERM') };
    if (proc.exitCode !== null) break;
    await sleep(100);
  }
  proc.kill('SIGKILL');
  throw new Error(`redis-server did not start: ${out.slice(-1000)}`);
}
