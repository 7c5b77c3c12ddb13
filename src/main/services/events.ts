import type { AppEvent } from '../../shared/types';

/** Fan-out of app events to every connected UI (IPC windows, WebSocket clients, the CLI). */
export class EventHub {
  private readonly listeners = new Set<(e: AppEvent) => void>();
  emit = (event: AppEvent): void => {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // one broken listener must not stop the others
      }
    }
  };
  subscribe(listener: (e: AppEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
