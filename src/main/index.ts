/**
 * Electron main process, kept thin: it wires Electron's objects into the shell logic of
 * src/main/shell (start-up failure, data folder, quit sequence, IPC sender check, single instance,
 * navigation and permission policy, the app scheme), which never imports electron and is tested
 * under Node with a stand-in (test/integration/desktop-bundle.test.ts). Everything else lives in
 * modules that never import electron (services, store, jobs, ml, server).
 */
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  net,
  protocol,
  session,
  shell,
  type MenuItemConstructorOptions,
} from 'electron';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IPC_EVENT_CHANNEL, IPC_PREFIX, methodIds } from '../shared/api';
import type { AppServices } from './services/app';
import { defaultDataDir, explicitDataDir, PRODUCT_NAME } from './services/paths';
import { chooseDataFolder, QuitRequested } from './shell/dataFolder';
import { desktopCsp, MEDIA_SCHEME } from './shell/csp';
import { originOf, trustedSender, type AppOrigin } from './shell/ipc';
import { appMenuTemplate } from './shell/menu';
import { navigationDecision, permissionAllowed } from './shell/policy';
import { installQuitSequence } from './shell/quit';
import { APP_ENTRY_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, serveRendererFile } from './shell/scheme';
import { focusWindow, openPath, pathFromArgv } from './shell/singleInstance';
import { fileLog, runStartup } from './shell/startup';
import { unpackedEntry } from './shell/workers';

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  return process.argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=');
};

const rendererUrl = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL || undefined; // set by electron-vite dev
const dev = rendererUrl !== undefined;
const appOrigin: AppOrigin = (rendererUrl && originOf(rendererUrl)) || { scheme: APP_SCHEME, host: 'app' };
const csp = desktopCsp(rendererUrl);
const rendererDir = fileURLToPath(new URL('../renderer', import.meta.url));

// One data folder for desktop, web mode and the CLI (services/paths.ts); Electron's own profile
// (userData, where it would otherwise pick "cider-studio" from package.json's name) is the same folder.
app.setName(PRODUCT_NAME);
app.setPath('userData', explicitDataDir(flag('data-dir')) ?? defaultDataDir());
const logFile = join(app.getPath('userData'), 'logs', 'main.log');
const log = fileLog(logFile);

let services: AppServices | undefined;
let mainWindow: BrowserWindow | undefined;
let dataDir: string | undefined;

/** The reports' PDF printer: a hidden window without JavaScript renders the report's HTML (which allows no network) and Electron prints it. */
async function printHtmlToPdf(html: string): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'cider-print-'));
  const win = new BrowserWindow({
    show: false,
    webPreferences: { sandbox: true, contextIsolation: true, javascript: false, devTools: false },
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

function bindIpc(s: AppServices): void {
  for (const id of methodIds()) {
    const channel = `${IPC_PREFIX}${id}`;
    if (!channel.startsWith(IPC_PREFIX)) throw new Error(`bad channel ${channel}`);
    ipcMain.handle(channel, async (event, args: unknown) => {
      const sender = trustedSender(event, mainWindow, appOrigin);
      if (!sender.ok) {
        log(`IPC ${channel} refused: ${sender.reason}`);
        return { ok: false, error: { code: 'UNAUTHORIZED', message: 'call from an untrusted frame refused' } };
      }
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
    title: PRODUCT_NAME,
    show: false,
    webPreferences: {
      preload: fileURLToPath(new URL('../preload/index.cjs', import.meta.url)),
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      spellcheck: false,
      devTools: dev,
    },
  });
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  void mainWindow.loadURL(rendererUrl ?? APP_ENTRY_URL);
}

/** Clip videos for the player: cider-media://clips/<id> (the renderer's clipMediaUrl). */
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

/** The files service's chooser in the desktop app: the native open/save dialog (issue 19). */
const nativePickPath: NonNullable<Parameters<typeof import('./services/app').createApp>[0]['pickPath']> = async (
  req,
) => {
  const owner = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
  const filters = req.extensions?.length ? [{ name: req.extensions.join(', '), extensions: req.extensions }] : [];
  if (req.kind === 'save') {
    const r = await dialog.showSaveDialog(owner, { title: req.title, defaultPath: req.defaultPath, filters });
    return r.canceled || !r.filePath ? [] : [r.filePath];
  }
  const properties: ('openFile' | 'openDirectory' | 'multiSelections')[] =
    req.kind === 'file' ? ['openFile'] : req.kind === 'folder' ? ['openDirectory'] : ['openFile', 'openDirectory'];
  if (req.multiple) properties.push('multiSelections');
  const r = await dialog.showOpenDialog(owner, { title: req.title, defaultPath: req.defaultPath, filters, properties });
  return r.canceled ? [] : r.filePaths;
};

/** Files or folders to import once the services are up (the command line, macOS open-file, a second launch). */
const pendingOpen: string[] = [];
function requestOpen(path: string): void {
  if (!services) {
    pendingOpen.push(path);
    return;
  }
  void openPath(path, {
    dispatch: (method, args) => services!.dispatch(method, args),
    notify: (message) =>
      void dialog.showMessageBox({
        type: 'warning',
        title: PRODUCT_NAME,
        message: 'This cannot be imported',
        detail: message,
      }),
    log,
  });
}

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES },
  { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, stream: true, supportFetchAPI: true } },
]);

if (!app.requestSingleInstanceLock()) {
  // the first instance got our command line through 'second-instance' and shows itself
  app.quit();
} else {
  // `electron <app folder> ...` (development) puts the app folder before the user's arguments
  const userArgs = (argv: string[]) => (process.defaultApp ? argv.slice(1) : argv);
  app.on('second-instance', (_event, argv, cwd) => {
    focusWindow(mainWindow);
    const path = pathFromArgv(userArgs(argv), cwd, [app.getAppPath()]);
    if (path) requestOpen(path);
  });
  app.on('open-file', (event, path) => {
    event.preventDefault();
    requestOpen(path);
  });
  const first = pathFromArgv(userArgs(process.argv), process.cwd(), [app.getAppPath()]);
  if (first) pendingOpen.push(first);

  app.enableSandbox();
  app.on('web-contents-created', (_, contents) => {
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.on('will-frame-navigate', (e) => {
      const decision = navigationDecision(e.url, e.isMainFrame, appOrigin);
      if (decision === 'allow') return;
      e.preventDefault();
      if (decision === 'open-externally') void shell.openExternal(e.url);
    });
    contents.setWindowOpenHandler(({ url }) => {
      if (navigationDecision(url, true, appOrigin) === 'open-externally') void shell.openExternal(url);
      return { action: 'deny' };
    });
  });
  installQuitSequence({
    app,
    dialog,
    log,
    services: () => services && { activeJobs: () => services!.runner.activeCount(), close: () => services!.close() },
  });
  app.on('window-all-closed', () => app.quit());

  void app.whenReady().then(() =>
    runStartup({ app, dialog, log, logFile, dataDir: () => dataDir }, async () => {
      const ses = session.defaultSession;
      // the dev server's responses carry the (relaxed) desktop policy too; built pages get it from the app scheme
      if (dev)
        ses.webRequest.onHeadersReceived((details, callback) => {
          callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
        });
      ses.setPermissionRequestHandler((_wc, permission, cb, details) =>
        cb(permissionAllowed(permission, details.requestingUrl, appOrigin)),
      );
      ses.setPermissionCheckHandler((_wc, permission, requestingOrigin) =>
        permissionAllowed(permission, requestingOrigin, appOrigin),
      );
      protocol.handle(APP_SCHEME, (request) => serveRendererFile(request.url, rendererDir, csp));
      Menu.setApplicationMenu(
        Menu.buildFromTemplate(
          appMenuTemplate({
            platform: process.platform,
            dev,
            appName: PRODUCT_NAME,
          }) as MenuItemConstructorOptions[],
        ),
      );
      try {
        dataDir = await chooseDataFolder({ dialog, log, flag: flag('data-dir') });
      } catch (e) {
        if (!(e instanceof QuitRequested)) throw e;
        app.exit(0);
        return;
      }
      // loaded here, not at the top: a native module that does not load (built for another runtime)
      // then fails inside runStartup, with the box and the exit, instead of before any handler exists
      const [{ createApp }, { workerThreadSpawner }] = await Promise.all([
        import('./services/app'),
        import('./jobs/runner'),
      ]);
      services = createApp({
        dataDir,
        mode: 'desktop',
        spawnWorker: workerThreadSpawner(unpackedEntry(new URL('./worker.js', import.meta.url))),
        log,
        printToPdf: printHtmlToPdf,
        pickPath: nativePickPath,
      });
      bindIpc(services);
      serveMedia(services);
      createWindow();
      for (const path of pendingOpen.splice(0)) requestOpen(path);
    }),
  );
}
