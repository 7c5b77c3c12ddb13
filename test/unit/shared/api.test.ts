import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookupMethod, methodIds } from '../../../src/shared/api';
import { createDispatcher } from '../../../src/main/services/dispatch';
import { AppError } from '../../../src/shared/errors';
import type { Handlers } from '../../../src/shared/api';

test('every contract method has an id "service.method" that looks itself up', () => {
  const ids = methodIds();
  assert.ok(ids.includes('projects.create'));
  for (const id of ids) assert.equal(`${lookupMethod(id)!.service}.${lookupMethod(id)!.method}`, id);
});

test('lookup refuses inherited and malformed names', () => {
  for (const bad of ['constructor.name', '__proto__.x', 'projects.toString', 'projects', '', 'projects.list.extra'])
    assert.equal(lookupMethod(bad), undefined, bad);
});

/** Only the services under test; the dispatcher never touches the others. */
function handlers(): Handlers<void> {
  const projects: Partial<Handlers<void>['projects']> = {
    list: () => [],
    get: ({ id }) => {
      throw new AppError('NOT_FOUND', `project ${id} does not exist`);
    },
    create: ({ name }) => ({ id: 1, name, description: '', createdAt: '', updatedAt: '' }),
    remove: () => {
      throw new TypeError('boom');
    },
  };
  return { projects } as unknown as Handlers<void>;
}

test('the dispatcher validates arguments and wraps every outcome in the envelope', async () => {
  const internal: string[] = [];
  const dispatch = createDispatcher(handlers(), undefined, (m) => internal.push(m));
  assert.deepEqual(await dispatch('projects.list', {}), { ok: true, value: [] });
  const created = await dispatch('projects.create', { name: '  trimmed  ' });
  assert.equal(created.ok && (created.value as { name: string }).name, 'trimmed');

  const unknown = await dispatch('projects.explode', {});
  assert.equal(!unknown.ok && unknown.error.code, 'UNKNOWN_METHOD');

  const bad = await dispatch('projects.get', { id: 'seven' });
  assert.ok(!bad.ok);
  assert.equal(bad.error.code, 'BAD_REQUEST');
  assert.match(bad.error.message, /id/);

  const extra = await dispatch('projects.create', { name: 'x', admin: true });
  assert.equal(!extra.ok && extra.error.code, 'BAD_REQUEST');

  const missing = await dispatch('projects.get', { id: 4 });
  assert.deepEqual(missing, { ok: false, error: { code: 'NOT_FOUND', message: 'project 4 does not exist' } });

  const crash = await dispatch('projects.remove', { id: 1 });
  assert.deepEqual(crash, { ok: false, error: { code: 'INTERNAL', message: 'boom' } });
  assert.deepEqual(internal, ['projects.remove']);
});
