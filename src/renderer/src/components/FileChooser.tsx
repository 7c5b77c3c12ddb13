/**
 * Choosing a file or folder on the machine the app runs on. In the desktop app the native dialog
 * (files.pick); in web mode a browser of the server's folders (files.list), which the server keeps
 * inside the roots the user allowed at start. `save` chooses a folder and a file name.
 */
import { useEffect, useState } from 'react';
import type { Api } from '../../../shared/api';
import type { FileChooserInfo, FolderListing, PickKind } from '../../../shared/contract/files';

export interface FileChooserProps {
  api: Api;
  kind: PickKind;
  /** the button's text */
  label: string;
  title?: string;
  extensions?: string[];
  /** save: the file name proposed */
  defaultName?: string;
  multiple?: boolean;
  disabled?: boolean;
  onChoose(paths: string[]): void;
}

let chooserInfo: Promise<FileChooserInfo> | undefined;

export function FileChooser(props: FileChooserProps) {
  const { api, kind, label } = props;
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const start = async () => {
    setError(null);
    try {
      chooserInfo ??= api.files.chooser({});
      const info = await chooserInfo;
      if (!info.native) {
        setOpen(true);
        return;
      }
      const paths = await api.files.pick({
        kind,
        title: props.title,
        multiple: props.multiple ?? false,
        extensions: props.extensions,
        defaultPath: props.defaultName,
      });
      if (paths.length) props.onChoose(paths);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <>
      <button type="button" onClick={() => void start()} disabled={props.disabled}>
        {label}
      </button>
      {error ? (
        <span className="error" role="alert">
          {error}
        </span>
      ) : null}
      {open ? (
        <FileBrowser
          {...props}
          onClose={() => setOpen(false)}
          onChoose={(paths) => {
            setOpen(false);
            props.onChoose(paths);
          }}
        />
      ) : null}
    </>
  );
}

function FileBrowser(props: FileChooserProps & { onClose(): void }) {
  const { api, kind } = props;
  const [listing, setListing] = useState<FolderListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<string[]>([]);
  const [name, setName] = useState(props.defaultName ?? '');
  const go = (path?: string) => {
    api.files.list({ path, extensions: props.extensions }).then(
      (l) => {
        setListing(l);
        setChosen([]);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  };
  useEffect(() => go(), []); // eslint-disable-line react-hooks/exhaustive-deps
  const wantsFiles = kind === 'file' || kind === 'fileOrFolder';
  const toggle = (p: string) =>
    setChosen((c) => (c.includes(p) ? c.filter((x) => x !== p) : props.multiple ? [...c, p] : [p]));
  const sep = listing?.path.includes('\\') ? '\\' : '/';
  const finish = () => {
    if (!listing) return;
    if (kind === 'save') {
      if (!name.trim() || /[\\/]/.test(name)) {
        setError('give a file name (without folders)');
        return;
      }
      props.onChoose([`${listing.path}${listing.path.endsWith(sep) ? '' : sep}${name.trim()}`]);
    } else if (kind === 'folder' && !chosen.length) props.onChoose([listing.path]);
    else if (chosen.length) props.onChoose(chosen);
  };
  return (
    <div className="file-browser-backdrop">
      <div className="file-browser" role="dialog" aria-label={props.title ?? 'Choose a file'}>
        <header>
          <strong>{props.title ?? 'Choose a file'}</strong>
          <button type="button" onClick={props.onClose} aria-label="Close">
            ×
          </button>
        </header>
        <p className="muted" data-testid="browser-path">
          {listing?.path ?? '...'}
        </p>
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
        <ul className="file-entries">
          {listing?.parent ? (
            <li>
              <button type="button" onClick={() => go(listing.parent!)}>
                ⬑ ..
              </button>
            </li>
          ) : null}
          {listing?.entries.map((e) => (
            <li key={e.path}>
              {e.kind === 'folder' ? (
                <span className="file-entry">
                  <button type="button" onClick={() => go(e.path)} aria-label={`Open folder ${e.name}`}>
                    📁 {e.name}
                  </button>
                  {kind === 'fileOrFolder' || kind === 'folder' ? (
                    <label>
                      <input
                        type="checkbox"
                        checked={chosen.includes(e.path)}
                        onChange={() => toggle(e.path)}
                        aria-label={`Choose folder ${e.name}`}
                      />
                    </label>
                  ) : null}
                </span>
              ) : (
                <button
                  type="button"
                  className={chosen.includes(e.path) ? 'selected' : ''}
                  disabled={!wantsFiles && kind !== 'save'}
                  onClick={() => (kind === 'save' ? setName(e.name) : toggle(e.path))}
                  onDoubleClick={() => (kind === 'save' ? undefined : props.onChoose([e.path]))}
                >
                  {e.name}
                </button>
              )}
            </li>
          ))}
          {listing && !listing.entries.length ? (
            <li className="muted">
              no folders
              {props.extensions ? ` or ${props.extensions.map((e) => `.${e}`).join(', ')} files` : ' or files'} here
            </li>
          ) : null}
        </ul>
        {kind === 'save' ? (
          <label>
            File name <input aria-label="File name" value={name} onChange={(e) => setName(e.target.value)} />
          </label>
        ) : null}
        <footer>
          <span className="muted">{listing ? `inside ${listing.root}` : ''}</span>
          <button type="button" onClick={finish} disabled={!listing || (kind === 'file' && !chosen.length)}>
            {kind === 'save'
              ? 'Save here'
              : kind === 'folder' && !chosen.length
                ? 'Choose this folder'
                : `Choose ${chosen.length || ''}`.trim()}
          </button>
        </footer>
      </div>
    </div>
  );
}
