/**
 * After a restart the server has a new token, but the browser still holds the old server's cookie
 * (cookies ignore the port). Opening the newly printed URL must log in anyway; the stale cookie
 * alone still gets 401.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp';
import { startWebApp } from '../helpers/webapp';

test('the printed URL logs in even with a stale cookie from an earlier server', async () => {
  const app = await startWebApp(tempDir());
  try {
    const stale = 'cider_token=stale-token-from-an-earlier-server';
    const login = await fetch(app.loginUrl, { headers: { cookie: stale }, redirect: 'manual' });
    assert.ok(login.status === 302 || login.status === 303 || login.status === 200, `status ${login.status}`);
    assert.match(login.headers.get('set-cookie') ?? '', new RegExp(`cider_token=${app.token}`));
    const api = await fetch(new URL('/api/call/app.status', app.url), {
      method: 'POST',
      headers: { cookie: stale, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(api.status, 401);
  } finally {
    await app.stop();
  }
});
