import { useState } from 'react';
import type { AppStatus } from '../../../shared/types';

export function StatusBar({ status, transport }: { status: AppStatus | null; transport: 'ipc' | 'http' }) {
  // the backend's reason can be long (why a GPU was not used): one line until the user opens it
  const [expanded, setExpanded] = useState(false);
  if (!status) return <footer className="statusbar">connecting...</footer>;
  const b = status.backend;
  return (
    <footer className={`statusbar${expanded ? ' expanded' : ''}`} data-testid="status-bar">
      <span data-testid="backend" title={b.reason}>
        TensorFlow.js {b.tfjsVersion}: <strong>{b.name}</strong>
        {b.gpu ? ' (GPU)' : ' (CPU)'}
      </span>
      <button
        type="button"
        className="reason"
        data-testid="backend-reason"
        aria-expanded={expanded}
        title={expanded ? 'show one line' : 'show the whole reason'}
        onClick={() => setExpanded((x) => !x)}
      >
        {expanded ? '\u25BE ' : '\u25B8 '}
        {b.reason}
      </button>
      <span title={status.databaseFile}>data: {status.dataDir}</span>
      <span>{status.mode === 'web' ? `web mode (${transport})` : status.mode}</span>
      <span>v{status.appVersion}</span>
    </footer>
  );
}
