/**
 * A stand-in for the `electron` module, so the built main process (out/main/index.js) runs under
 * plain Node. It implements the calls the shell makes, reports what the app does (error boxes,
 * dialogs, windows, exit codes) to the parent test over the fork IPC channel, and lets the test
 * drive it: invoke an IPC channel from a chosen frame, quit, request a protocol URL, launch a
 * second instance. Dialog answers come from CIDER_STANDIN's `messageBoxResponses`.
 * Only the test harness (test/helpers/electronStandin.ts) uses it.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';

const config = JSON.parse(process.env.CIDER_STANDIN ?? '{}');
// like `electron out/main/index.js`: argv[1] is the app, not something the user asked to open
process.defaultApp = true;
const responses = [...(config.messageBoxResponses ?? [])];

function report(message) {
  if (process.send) process.send(message);
}

function preventable(extra = {}) {
  return {
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true;
    },
    ...extra,
  };
}

let exiting = false;
class App extends EventEmitter {
  isPackaged = false;
  name = 'cider-studio';
  paths = { appData: config.appData, userData: join(config.appData, 'cider-studio'), temp: config.appData };
  setName(name) {
    this.name = name;
  }
  getName() {
    return this.name;
  }
  setPath(name, path) {
    this.paths[name] = path;
    report({ type: 'setPath', name, path });
  }
  getPath(name) {
    if (name === 'logs') return join(this.paths.userData, 'logs');
    if (!(name in this.paths)) throw new Error(`stand-in app.getPath: unknown path ${name}`);
    return this.paths[name];
  }
  getAppPath() {
    return config.appPath;
  }
  requestSingleInstanceLock() {
    return config.singleInstanceLock ?? true;
  }
  enableSandbox() {}
  whenReady() {
    return new Promise((resolve) => setImmediate(resolve));
  }
  quit() {
    report({ type: 'quit' });
    const event = preventable();
    this.emit('before-quit', event);
    if (event.defaultPrevented) return;
    this.emit('will-quit', preventable());
    this.exit(0);
  }
  exit(code = 0) {
    if (exiting) return;
    exiting = true;
    report({ type: 'exit', code });
    process.exitCode = code;
    // let the report reach the parent, then end like Electron's app.exit (no further events)
    setImmediate(() => {
      if (process.send && process.connected) process.disconnect();
      process.exit(code);
    });
  }
}
export const app = new App();

let nextContentsId = 1;
class WebContents extends EventEmitter {
  constructor(window) {
    super();
    this.id = nextContentsId++;
    this.window = window;
    this.mainFrame = { url: '', routingId: 1, processId: 1000 + this.id, parent: null, detached: false };
  }
  send(channel, event) {
    report({ type: 'rendererEvent', channel, event });
  }
  setWindowOpenHandler(handler) {
    this.windowOpenHandler = handler;
  }
  async printToPDF() {
    throw new Error('the stand-in cannot print');
  }
}

export class BrowserWindow extends EventEmitter {
  static all = [];
  constructor(options = {}) {
    super();
    this.options = options;
    this.destroyed = false;
    this.webContents = new WebContents(this);
    BrowserWindow.all.push(this);
    report({ type: 'window', title: options.title, webPreferences: options.webPreferences ?? {} });
    app.emit('web-contents-created', preventable(), this.webContents);
  }
  async loadURL(url) {
    this.webContents.mainFrame.url = url;
    report({ type: 'loadURL', url });
    setImmediate(() => this.emit('ready-to-show'));
  }
  async loadFile(file) {
    return this.loadURL(`file://${file}`);
  }
  isDestroyed() {
    return this.destroyed;
  }
  isMinimized() {
    return false;
  }
  restore() {}
  show() {
    report({ type: 'show' });
  }
  focus() {
    report({ type: 'focus' });
  }
  destroy() {
    this.destroyed = true;
  }
}

const handlers = new Map();
export const ipcMain = {
  handle(channel, handler) {
    if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    handlers.set(channel, handler);
  },
};

export const dialog = {
  showErrorBox(title, content) {
    report({ type: 'errorBox', title, content });
  },
  async showMessageBox(options) {
    const response = responses.length ? responses.shift() : (options.defaultId ?? 0);
    report({ type: 'messageBox', options, response });
    return { response, checkboxChecked: false };
  },
};

const protocolHandlers = new Map();
export const protocol = {
  registerSchemesAsPrivileged(schemes) {
    report({ type: 'privilegedSchemes', schemes });
  },
  handle(scheme, handler) {
    protocolHandlers.set(scheme, handler);
  },
};

const sessionState = {};
export const session = {
  defaultSession: {
    webRequest: {
      onHeadersReceived(listener) {
        sessionState.onHeadersReceived = listener;
      },
    },
    setPermissionRequestHandler(handler) {
      sessionState.permissionRequest = handler;
    },
    setPermissionCheckHandler(handler) {
      sessionState.permissionCheck = handler;
    },
  },
};

export const Menu = {
  buildFromTemplate(template) {
    return { template };
  },
  setApplicationMenu(menu) {
    const roles = (items) => items.flatMap((i) => [...(i.role ? [i.role] : []), ...roles(i.submenu ?? [])]);
    report({ type: 'menu', roles: roles(menu?.template ?? []) });
  },
};

export const shell = {
  async openExternal(url) {
    report({ type: 'openExternal', url });
  },
};

export const net = { fetch: (...args) => fetch(...args) };

export default { app, BrowserWindow, ipcMain, dialog, protocol, session, Menu, shell, net };

/** The sending frame an IPC call claims to come from. */
function senderFor(from) {
  const win = BrowserWindow.all[0];
  if (!win) throw new Error('no window yet');
  const wc = win.webContents;
  const main = wc.mainFrame;
  switch (from) {
    case 'main':
      return { sender: wc, senderFrame: main };
    case 'sameFrameNewObject':
      // a different WebFrameMain object for the very same frame: must still be served
      return { sender: wc, senderFrame: { ...main } };
    case 'subframe':
      return {
        sender: wc,
        senderFrame: { url: main.url, routingId: 7, processId: main.processId, parent: main, detached: false },
      };
    case 'foreignPage':
      // the main frame itself, but showing another site
      return { sender: wc, senderFrame: { ...main, url: 'https://attacker.example/' } };
    case 'otherWindow': {
      const other = new WebContents(null);
      other.mainFrame.url = main.url;
      return { sender: other, senderFrame: other.mainFrame };
    }
    case 'noFrame':
      return { sender: wc, senderFrame: null };
    default:
      throw new Error(`unknown sender ${from}`);
  }
}

process.on('message', async (msg) => {
  const reply = (value) => report({ type: 'reply', id: msg.id, value });
  try {
    switch (msg.cmd) {
      case 'invoke': {
        const handler = handlers.get(msg.channel);
        if (!handler) return reply({ noHandler: msg.channel });
        return reply(await handler(senderFor(msg.from), msg.args));
      }
      case 'quit':
        app.quit();
        return reply(true);
      case 'fetch': {
        const scheme = new URL(msg.url).protocol.replace(/:$/, '');
        const handler = protocolHandlers.get(scheme);
        if (!handler) return reply({ noHandler: scheme });
        const res = await handler(new Request(msg.url));
        return reply({ status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() });
      }
      case 'navigate': {
        const wc = BrowserWindow.all[0].webContents;
        const event = preventable({ url: msg.url, isMainFrame: msg.isMainFrame });
        wc.emit('will-frame-navigate', event);
        return reply({ prevented: event.defaultPrevented });
      }
      case 'permission':
        return reply({
          check: sessionState.permissionCheck?.(null, msg.permission, msg.origin, {}),
          request: await new Promise((resolve) =>
            sessionState.permissionRequest?.(null, msg.permission, resolve, { requestingUrl: msg.origin }),
          ),
        });
      case 'secondInstance':
        app.emit('second-instance', preventable(), msg.argv, msg.cwd, {});
        return reply(true);
      default:
        return reply({ unknownCommand: msg.cmd });
    }
  } catch (e) {
    report({ type: 'reply', id: msg.id, error: String(e?.stack ?? e) });
  }
});
