/**
 * The command line's parsing: each command's declared options are the only ones accepted; usage
 * errors exit 2 with a "did you mean"; --help/-h/--version work; --json makes errors JSON. These run
 * runCli in-process: every case here fails before the app (and its database) is created.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  commandSummary,
  editDistance,
  findCommand,
  nearest,
  parseCommand,
  UsageError,
  type CommandSpec,
} from '../../../src/cli/args';
import { runCli } from '../../../src/cli/main';
import { printable } from '../../../src/cli/io';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { status, out: out.join('\n'), err: err.join('\n') };
}

const spec: CommandSpec = {
  usage: ['demo X'],
  summary: 'a demo',
  options: {
    epochs: { type: 'integer', value: 'N', help: 'epochs' },
    lr: { type: 'number', value: 'X', help: 'rate' },
    name: { type: 'string', value: 'NAME', help: 'name' },
    force: { type: 'boolean', help: 'force' },
    task: { type: 'integer', choices: ['3', '7'], help: 'task' },
  },
};

test('edit distance counts a swap of two letters once; nearest only suggests near misses', () => {
  assert.equal(editDistance('trian', 'train'), 1);
  assert.equal(editDistance('epoch', 'epochs'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(nearest('fomat', ['format', 'folds']), 'format');
  assert.equal(nearest('zzz', ['train', 'eval']), undefined);
});

test('declared options parse with their types; values may follow "=" or the next word', () => {
  const a = parseCommand(['demo', 'x', '--epochs', '3', '--lr=1e-4', '--name', 'My run', '--force'], spec);
  assert.deepEqual(a.positionals, ['demo', 'x']);
  assert.deepEqual(
    [...a.flags],
    [
      ['epochs', '3'],
      ['lr', '1e-4'],
      ['name', 'My run'],
      ['force', true],
    ],
  );
  // a negative number is a value, not an option
  assert.equal(parseCommand(['demo', '--lr', '-0.5'], spec).flags.get('lr'), '-0.5');
});

test('unknown options, missing values, wrong types and bad choices are usage errors', () => {
  const bad = (argv: string[], re: RegExp) =>
    assert.throws(
      () => parseCommand(argv, spec),
      (e: Error) => e instanceof UsageError && re.test(e.message),
    );
  bad(['demo', '--epoch', '2'], /unknown option --epoch.*did you mean "--epochs"/);
  bad(['demo', '--name'], /--name needs a value/);
  bad(['demo', '--name', '--force'], /--name needs a value.*got the option --force/);
  bad(['demo', '--epochs', 'two'], /--epochs must be a whole number, got "two"/);
  bad(['demo', '--epochs', '2.5'], /whole number/);
  bad(['demo', '--lr', '1x'], /--lr must be a number/);
  bad(['demo', '--task', '5'], /--task must be one of 3, 7/);
  bad(['demo', '--force=yes'], /--force is a switch/);
  bad(['demo', '-x'], /unknown option -x/);
});

test('a command reading an option it does not declare is a programming error, caught at once', async () => {
  const { flagString } = await import('../../../src/cli/args');
  assert.throws(() => flagString(parseCommand(['demo'], spec), 'undeclared'), /does not declare it/);
});

test('cider train --dataset 2 --epoch 2 is refused (exit 2) instead of starting a default run', async () => {
  const r = await cli('train', '--dataset', '2', '--epoch', '2');
  assert.equal(r.status, 2);
  assert.match(r.err, /unknown option --epoch for "cider train"; did you mean "--epochs"\?/);
});

test('cider runs --fomat json exits 2; a typo in a command or subcommand gets a suggestion', async () => {
  assert.equal((await cli('runs', '--fomat', 'json')).status, 2);
  const typo = await cli('trian');
  assert.equal(typo.status, 2);
  assert.match(typo.err, /unknown command "trian"; did you mean "train"\?/);
  const sub = await cli('datasets', 'rmove', 'x');
  assert.equal(sub.status, 2);
  assert.match(sub.err, /did you mean "datasets remove"/);
});

test('--json is a switch: "cider import --json FILE" keeps FILE as the file', async () => {
  const r = await cli('import', '--json', '--bogus');
  assert.equal(r.status, 2);
  // the error is JSON on stderr, with the usage code
  const e = JSON.parse(r.err) as { ok: boolean; error: { code: string; message: string } };
  assert.deepEqual([e.ok, e.error.code], [false, 'USAGE']);
  assert.match(e.error.message, /unknown option --bogus/);
  assert.deepEqual(parseCommand(['import', '--json', 'data.pkl'], undefined).positionals, ['import', 'data.pkl']);
});

test('-h, --help, cider <command> --help and --version', async () => {
  const h = await cli('-h');
  assert.equal(h.status, 0);
  assert.match(h.out, /usage: cider <command>/);
  assert.match(h.out, /train --dataset DATASET/);
  const train = await cli('train', '--help');
  assert.equal(train.status, 0);
  assert.match(train.out, /options for "train":/);
  assert.match(train.out, /--epochs N\s+maximum epochs/);
  assert.match(train.out, /--task 3\|7/);
  assert.equal((await cli('help', 'eval')).status, 0);
  const v = await cli('--version');
  assert.equal(v.status, 0);
  assert.match(v.out, /^cider \d+\.\d+\.\d+/);
  assert.equal((await cli()).status, 2);
});

test('listings escape control characters so a name cannot fake lines or drive the terminal', () => {
  assert.equal(printable('a\nb\x1b[31mc\u202ed'), 'a\\x0ab\\x1b[31mc\\u202ed');
  assert.equal(printable('plain text, ünïcode'), 'plain text, ünïcode');
});

test('options before the command: their values are not taken for the command', async () => {
  const specs: Record<string, CommandSpec> = {
    demo: spec,
    other: { usage: ['other'], summary: 'x', options: { name: { type: 'boolean', help: 'a switch here' } } },
  };
  assert.equal(findCommand(['--epochs', '3', 'demo'], specs), 2);
  assert.equal(findCommand(['--data-dir', 'D', '--lr', '0.1', 'demo', 'x'], specs), 4);
  assert.equal(findCommand(['--epochs=3', 'demo'], specs), 1);
  assert.equal(findCommand(['--json', 'demo'], specs), 1);
  assert.equal(findCommand(['-h', 'demo'], specs), 1);
  // --name takes a value in demo and is a switch in other: a command after it is the command
  assert.equal(findCommand(['--name', 'other'], specs), 1);
  assert.equal(findCommand(['--name', 'N', 'demo'], specs), 2);
  assert.equal(findCommand(['--epochs', '3'], specs), -1);
  assert.equal(findCommand(['--', 'demo'], specs), 1);

  // through the real command table: `cider --epochs 3 train` is train, with --epochs 3
  const help = await cli('--epochs', '3', 'train', '--help');
  assert.equal(help.status, 0, help.err);
  assert.match(help.out, /options for "train":/);
  // ... parsed against train's options (these fail in parsing, before any data folder is opened)
  const task = await cli('--epochs', '3', 'train', '--task', '5');
  assert.equal(task.status, 2);
  assert.match(task.err, /--task must be one of 3, 7/);
  const epochs = await cli('--epochs', 'three', 'train', '--dataset', 'x');
  assert.equal(epochs.status, 2);
  assert.match(epochs.err, /--epochs must be a whole number, got "three"/);
  // an option no command declares: its value is taken for the command, and the error says where options go
  const stray = await cli('--epoch', '3', 'train');
  assert.equal(stray.status, 2);
  assert.match(
    stray.err,
    /unknown command "3" \(it follows --epoch, which no command declares; options go after the command/,
  );
  // a switch before an unknown word says nothing about option order
  const typo = await cli('--json', 'trian');
  assert.doesNotMatch(JSON.parse(typo.err).error.message as string, /options go after/);
});

test('cider help: a synopsis continued on more lines hangs 4 columns under its first line', async () => {
  const long: CommandSpec = {
    usage: ['compare-ood RUN [--a A]', '                [--b B]', 'compare-ood list'],
    summary: 'what it does',
    options: {},
  };
  assert.deepEqual(commandSummary(long).split('\n'), [
    '  compare-ood RUN [--a A]',
    '      [--b B]',
    '  compare-ood list',
    `${' '.repeat(30)}what it does`,
    '',
  ]);
  const out = (await cli('help')).out.split('\n');
  const continued = out.filter((l) => /^ +\[--/.test(l));
  assert.ok(continued.length >= 5, 'train, eval, search, ablate and report have continued synopses');
  for (const l of continued) assert.match(l, /^ {6}\[--/, l);
  // cider COMMAND --help keeps them under the first option
  const evalHelp = (await cli('eval', '--help')).out.split('\n');
  assert.match(evalHelp[0], /^usage: cider eval RUN \[--protocol/);
  assert.equal(evalHelp[1].indexOf('['), evalHelp[0].indexOf('['));
});
