/**
 * The quit sequence. Electron emits `before-quit` for every way of quitting (menu, Cmd+Q, the last
 * window closing, the OS logging out) but `window-all-closed` only for the last; so cleanup hangs
 * on `before-quit`: prevent it, ask when jobs are running, stop them (the runner records them as
 * stopped by the quit), close the store, then quit for real.
 */
import type { PreventableEvent, ShellApp, ShellDialog } from './types';

export interface QuittableServices {
  /** jobs running or queued */
  activeJobs(): number;
  /** stops the jobs, waits for them to be recorded, closes the store */
  close(): Promise<void>;
}

export type QuitPhase = 'running' | 'asking' | 'closing' | 'closed';

export interface QuitDeps {
  app: ShellApp;
  dialog: ShellDialog;
  services: () => QuittableServices | undefined;
  log: (message: string) => void;
}

export function installQuitSequence(deps: QuitDeps): { phase(): QuitPhase } {
  let phase: QuitPhase = 'running';

  const shutdown = async (): Promise<void> => {
    const services = deps.services();
    const active = services?.activeJobs() ?? 0;
    if (active > 0) {
      phase = 'asking';
      const { response } = await deps.dialog.showMessageBox({
        type: 'warning',
        title: 'CIDer Studio',
        message: active === 1 ? 'A job is still running.' : `${active} jobs are still running.`,
        detail: 'Quitting stops them. They are recorded as stopped, and you can run them again later.',
        buttons: ['Stop and quit', 'Keep working'],
        defaultId: 1,
        cancelId: 1,
        noLink: true,
      });
      if (response !== 0) {
        phase = 'running';
        return;
      }
    }
    phase = 'closing';
    let failed = false;
    try {
      await services?.close();
    } catch (e) {
      failed = true;
      deps.log(`closing the services on quit failed: ${(e as Error)?.stack ?? String(e)}`);
    }
    phase = 'closed';
    if (failed) deps.app.exit(1);
    else deps.app.quit();
  };

  deps.app.on('before-quit', (event: PreventableEvent) => {
    if (phase === 'closed') return;
    event.preventDefault();
    if (phase === 'running') void shutdown();
  });
  return { phase: () => phase };
}
