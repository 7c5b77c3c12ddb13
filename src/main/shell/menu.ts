/**
 * The application menu as a template (Menu.buildFromTemplate's input). Production builds have no
 * DevTools, reload or force-reload entries; development builds add them.
 */
export interface MenuItemTemplate {
  label?: string;
  role?: string;
  type?: 'separator';
  accelerator?: string;
  submenu?: MenuItemTemplate[];
}

export function appMenuTemplate(opts: {
  platform: NodeJS.Platform;
  dev: boolean;
  appName: string;
}): MenuItemTemplate[] {
  const mac = opts.platform === 'darwin';
  const template: MenuItemTemplate[] = [];
  if (mac)
    template.push({
      label: opts.appName,
      submenu: [
        { role: 'about' },
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        { role: 'quit' },
      ],
    });
  template.push({ label: 'File', submenu: [mac ? { role: 'close' } : { role: 'quit' }] });
  template.push({
    label: 'Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'selectAll' },
    ],
  });
  const view: MenuItemTemplate[] = [
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  if (opts.dev)
    view.push({ type: 'separator' }, { role: 'reload' }, { role: 'forceReload' }, { role: 'toggleDevTools' });
  template.push({ label: 'View', submenu: view });
  template.push({ label: 'Window', submenu: mac ? [{ role: 'minimize' }, { role: 'zoom' }] : [{ role: 'minimize' }] });
  return template;
}

/** Every role in a template, nested included (tests check production has no DevTools). */
export function menuRoles(template: readonly MenuItemTemplate[]): string[] {
  return template.flatMap((i) => [...(i.role ? [i.role] : []), ...menuRoles(i.submenu ?? [])]);
}
