/**
 * Electron main process: window, security settings and the IPC adapter. Everything else lives
 * in modules that never import electron (services, store, jobs, ml, server) and run under Node.
 */
import { app, BrowserWindow, dialog, ipcMain, net, protocol, session, shell, type IpcMainInvokeEvent } from 'electron';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IPC_EVENT_CHANNEL, IPC_PREFIX, methodIds } from '../shared/api';
import { createApp, type AppServices } from './services/app';
import { workerThreadSpawner } from './jobs/runner';
import { resolveDataDir } from './services/paths';
import { CONTENT_SECURITY_POLICY } from './server/web';

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  return process.argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=');
};

let services: AppServices | undefined;

/** The reports' PDF printer: a hidden window without JavaScript renders the report's HTML (which allows no network) and Electron prints it. */
async function printHtmlToPdf(html: string): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'cider-print-'));
  const win = new BrowserWindow({
    show: false,
    webPreferences: { sandbox: true, contextIsolation: true, javascript: false },
  });
  try {
    writeFileSync(join(dir, 'report.html'), html);
    await win.loadFile(join(dir, 'report.html'));
    return await win.webContents.printToPDF({ pageSize: 'A4', printBackground: true });
  } finally {
    win.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
let mainWindow: BrowserWindow | undefined;
const rendererUrl = process.env.ELECTRON_RENDERER_URL; // set by electron-vite dev
const rendererFile = fileURLToPath(new URL('../renderer/index.html', import.meta.url));

/** Only our own page, in the top frame, may call the API. */
function trustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!frame || frame !== mainWindow?.webContents.mainFrame) return false;
  const url = new URL(frame.url);
  if (rendererUrl) return url.origin === new URL(rendererUrl).origin;
  return url.protocol === 'file:' && fileURLToPath(url) === rendererFile;
}

function bindIpc(s: AppServices): void {
  for (const id of methodIds()) {
    const channel = `${IPC_PREFIX}${id}`;
    if (!channel.startsWith(IPC_PREFIX)) throw new Error(`bad channel ${channel}`);
    ipcMain.handle(channel, async (event, args: unknown) => {
      if (!trustedSender(event))
        return { ok: false, error: { code: 'UNAUTHORIZED', message: 'call from an untrusted frame refused' } };
      return s.dispatch(id, args);
    });
  }
  s.events.subscribe((e) => {
    if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(IPC_EVENT_CHANNEL, e);
  });
}

function createWindow(): void {
  mainWindow = new BrowserWindow({
    width: 1280,
    height: 820,
    title: 'CIDer Studio',
    show: false,
    webPreferences: {
      preload: fileURLToPath(new URL('../preload/index.cjs', import.meta.url)),
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      spellcheck: false,
    },
  });
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  const wc = mainWindow.webContents;
  // Navigation away from the app and new windows are refused; http(s) links open in the system browser.
  wc.on('will-navigate', (e, url) => {
    e.preventDefault();
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
  });
  wc.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  if (rendererUrl) void mainWindow.loadURL(rendererUrl);
  else void mainWindow.loadFile(rendererFile);
}

/** Clip videos for the player: cider-media://clips/<id> (the renderer's clipMediaUrl). */
const MEDIA_SCHEME = 'cider-media';
protocol.registerSchemesAsPrivileged([
  { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, stream: true, supportFetchAPI: true } },
]);

function serveMedia(s: AppServices): void {
  protocol.handle(MEDIA_SCHEME, async (request) => {
    const m = /^cider-media:\/\/clips\/(\d+)\/?$/.exec(request.url);
    if (!m) return new Response('not found', { status: 404 });
    const env = await s.dispatch('clips.get', { id: Number(m[1]) });
    if (!env.ok) return new Response(env.error.message, { status: 404 });
    // net.fetch on the file honours the Range header the <video> element sends when seeking
    return net.fetch(pathToFileURL((env.value as { sourcePath: string }).sourcePath).toString(), {
      headers: request.headers,
    });
  });
}

app.enableSandbox();
app.on('web-contents-created', (_, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
});

void app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    const csp = CONTENT_SECURITY_POLICY.replace("media-src 'self' blob:", `media-src 'self' blob: ${MEDIA_SCHEME}:`);
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, cb) => cb(false));
  services = createApp({
    dataDir: resolveDataDir(flag('data-dir'), process.env, app.getPath('userData')),
    mode: 'desktop',
    spawnWorker: workerThreadSpawner(new URL('./worker.js', import.meta.url)),
    log: (m) => console.error(m),
    printToPdf: printHtmlToPdf,
    // ---- issue 19 (ANNOTATION): the native open/save dialog as the files service's pickPath
    pickPath: async (req) => {
      const owner = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
      const filters = req.extensions?.length ? [{ name: req.extensions.join(', '), extensions: req.extensions }] : [];
      if (req.kind === 'save') {
        const r = await dialog.showSaveDialog(owner, { title: req.title, defaultPath: req.defaultPath, filters });
        return r.canceled || !r.filePath ? [] : [r.filePath];
      }
      const properties: ('openFile' | 'openDirectory' | 'multiSelections')[] =
        req.kind === 'file' ? ['openFile'] : req.kind === 'folder' ? ['openDirectory'] : ['openFile', 'openDirectory'];
      if (req.multiple) properties.push('multiSelections');
      const r = await dialog.showOpenDialog(owner, {
        title: req.title,
        defaultPath: req.defaultPath,
        filters,
        properties,
      });
      return r.canceled ? [] : r.filePaths;
    },
    // ---- end issue 19
  });
  bindIpc(services);
  serveMedia(services);
  createWindow();
});

app.on('window-all-closed', () => {
  void (services?.close() ?? Promise.resolve()).then(() => app.quit());
});
