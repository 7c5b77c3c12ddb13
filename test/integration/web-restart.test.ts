import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobRecord } from '../../src/shared/types';
import { tempDir } from '../helpers/tmp';
import { startWebApp } from '../helpers/webapp';

test('killing the web server during a job and starting it again shows the job as interrupted', async () => {
  const dataDir = tempDir();
  const first = await startWebApp(dataDir);
  const job = await first.call<JobRecord>('jobs.selfTest', { size: 64, iterations: 100_000 });
  // wait until the worker really runs it
  for (let i = 0; i < 600; i++) {
    const j = await first.call<JobRecord>('jobs.get', { id: job.id });
    if (j.status === 'running' && (j.progress.fraction ?? 0) > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await first.call<JobRecord>('jobs.get', { id: job.id })).status, 'running');
  await first.stop('SIGKILL');

  const second = await startWebApp(dataDir);
  try {
    const after = await second.call<JobRecord>('jobs.get', { id: job.id });
    assert.equal(after.status, 'interrupted');
    assert.ok(after.finishedAt);
    assert.match(after.error!.message, /stopped while this job was running/);
    assert.match(second.output(), new RegExp(`jobs interrupted when the app last stopped: ${job.id}`));
  } finally {
    await second.stop();
  }
});
