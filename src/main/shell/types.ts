/**
 * The parts of Electron the shell logic uses, as plain structural types: the modules in this folder
 * never import electron (lint-enforced), so they take these objects as parameters and run under Node
 * with a stand-in (test/integration/desktop-bundle.test.ts). src/main/index.ts passes the real ones.
 */

/** An event whose default can be prevented (before-quit, will-navigate, second-instance...). */
export interface PreventableEvent {
  preventDefault(): void;
}

export interface ShellApp {
  quit(): void;
  exit(code?: number): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

export interface MessageBoxOptions {
  type?: 'none' | 'info' | 'error' | 'question' | 'warning';
  title?: string;
  message: string;
  detail?: string;
  buttons?: string[];
  defaultId?: number;
  cancelId?: number;
  noLink?: boolean;
}

export interface ShellDialog {
  showErrorBox(title: string, content: string): void;
  showMessageBox(options: MessageBoxOptions): Promise<{ response: number }>;
}

/** A frame as Electron's WebFrameMain describes it. */
export interface FrameLike {
  readonly url: string;
  readonly routingId: number;
  readonly processId: number;
  readonly parent: FrameLike | null;
  readonly detached?: boolean;
}

export interface WebContentsLike {
  readonly id: number;
  readonly mainFrame: FrameLike;
}

export interface WindowLike {
  readonly webContents: WebContentsLike;
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  show(): void;
  focus(): void;
}

export interface IpcInvokeEventLike {
  readonly sender: WebContentsLike;
  readonly senderFrame: FrameLike | null;
}
