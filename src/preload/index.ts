/**
 * Exposes the contract to the sandboxed renderer as named functions (never ipcRenderer itself):
 * window.cider.call.<service>.<method>(args) -> envelope, and window.cider.onEvent(listener).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { contract, IPC_EVENT_CHANNEL, IPC_PREFIX } from '../shared/api';
import type { Envelope } from '../shared/errors';
import type { AppEvent } from '../shared/types';

const call: Record<string, Record<string, (args: unknown) => Promise<Envelope<unknown>>>> = {};
for (const [service, methods] of Object.entries(contract)) {
  call[service] = {};
  for (const name of Object.keys(methods)) {
    const channel = `${IPC_PREFIX}${service}.${name}`;
    call[service][name] = (args: unknown) => ipcRenderer.invoke(channel, args) as Promise<Envelope<unknown>>;
  }
}

contextBridge.exposeInMainWorld('cider', {
  call,
  onEvent(listener: (e: AppEvent) => void): () => void {
    const wrapped = (_: IpcRendererEvent, e: AppEvent) => listener(e);
    ipcRenderer.on(IPC_EVENT_CHANNEL, wrapped);
    return () => ipcRenderer.removeListener(IPC_EVENT_CHANNEL, wrapped);
  },
});
