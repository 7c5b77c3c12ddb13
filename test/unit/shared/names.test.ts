/** Names in the contract: one printable line, with a message saying what is wrong and where. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookupMethod } from '../../../src/shared/api';
import { nameSchema } from '../../../src/shared/contract/method';

test('a name with a newline, a terminal escape or a bidi override is refused, saying which and where', () => {
  const name = nameSchema('a dataset');
  const bad = (s: string, re: RegExp) => {
    const r = name.safeParse(s);
    assert.ok(!r.success, JSON.stringify(s));
    assert.match(r.error.issues[0].message, re);
  };
  bad('two\nlines', /a dataset's name holds a control character \(U\+000A at position 4\)/);
  bad('red\x1b[31m', /U\+001B at position 4/);
  bad('abc\u202Eevil', /U\+202E/);
  bad('tab\there', /U\+0009/);
  bad('   ', /a dataset needs a name/);
  bad('x'.repeat(201), /longer than 200 characters/);
  assert.equal(name.parse('  Émotions — 情感 😀  '), 'Émotions — 情感 😀');
});

test('every contract method that takes a name checks it', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['projects.create', { name: 'a\nb' }],
    ['projects.update', { id: 1, name: 'a\nb' }],
    ['datasets.import', { files: ['/x.pkl'], name: 'a\nb' }],
    ['datasets.splitOod', { id: 1, seed: 1, name: 'a\nb' }],
    ['runs.start', { datasetId: 1, name: 'a\x1bb' }],
    ['search.start', { datasetId: 1, name: 'a\x1bb' }],
    ['models.add', { path: '/m', name: 'a\u2028b' }],
    ['clips.addAnnotator', { projectId: 1, name: 'a\rb' }],
    ['clips.exportDataset', { projectId: 1, name: 'a\nb' }],
  ];
  for (const [method, args] of cases) {
    const found = lookupMethod(method);
    assert.ok(found, method);
    const r = found.spec.args.safeParse(args);
    assert.ok(!r.success, `${method} accepted a control character`);
    assert.ok(
      r.error.issues.some((i) => /control character/.test(i.message)),
      `${method}: ${r.error.issues.map((i) => i.message).join('; ')}`,
    );
  }
});
