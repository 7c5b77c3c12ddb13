import type { AppStatus } from '../../../shared/types';

export function StatusBar({ status, transport }: { status: AppStatus | null; transport: 'ipc' | 'http' }) {
  if (!status) return <footer className="statusbar">connecting...</footer>;
  const b = status.backend;
  return (
    <footer className="statusbar" data-testid="status-bar">
      <span data-testid="backend" title={b.reason}>
        TensorFlow.js {b.tfjsVersion}: <strong>{b.name}</strong>
        {b.gpu ? ' (GPU)' : ' (CPU)'}
      </span>
      <span className="reason">{b.reason}</span>
      <span title={status.databaseFile}>data: {status.dataDir}</span>
      <span>{status.mode === 'web' ? `web mode (${transport})` : status.mode}</span>
      <span>v{status.appVersion}</span>
    </footer>
  );
}
