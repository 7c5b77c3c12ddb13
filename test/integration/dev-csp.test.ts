/**
 * `npm run dev`: the renderer's dev server (the electron-vite config's renderer part, with its dev
 * CSP plugin) serves index.html with a policy that lets the React plugin's inline refresh preamble
 * and the HMR socket run, while the production build keeps the strict one (desktop-bundle.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer } from 'vite';
import { devCsp } from '../../electron.vite.config';
import { rendererConfig } from '../../vite.web.config';

test('the dev server relaxes the CSP just enough for the React preamble and HMR', async () => {
  const server = await createServer({
    ...rendererConfig,
    configFile: false,
    logLevel: 'silent',
    plugins: [...(rendererConfig.plugins ?? []), devCsp()],
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: true },
  });
  try {
    await server.listen();
    const origin = new URL(server.resolvedUrls!.local[0]).origin;
    const html = await (await fetch(`${origin}/index.html`)).text();
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)?.[1];
    assert.ok(csp, 'the page keeps a CSP in development');
    assert.match(csp, /script-src 'self' 'unsafe-inline';/);
    assert.match(csp, new RegExp(`connect-src 'self' ws://${new URL(origin).host};`));
    assert.match(
      html,
      /<script type="module">[^<]*react-refresh|@react-refresh/,
      'the inline preamble the policy must allow',
    );
  } finally {
    await server.close();
  }
});
