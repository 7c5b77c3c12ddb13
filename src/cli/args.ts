/**
 * The command line's parser. Each command declares its options once (a `CommandSpec`); the same
 * declaration drives parsing (node:util parseArgs for tokenising, then strict checks here: unknown
 * options, missing values, wrong types, each with a "did you mean" for near misses) and
 * `cider <command> --help`. Adding an option to a command is one line in its `options`.
 */
import { parseArgs as tokenise } from 'node:util';

export interface OptionSpec {
  /** string: any text; number: a finite number; integer: a whole number; boolean: a switch without value */
  type: 'string' | 'number' | 'integer' | 'boolean';
  /** the value's placeholder in help, e.g. 'N', 'DATASET' */
  value?: string;
  help: string;
  /** a one-letter alias, e.g. 'h' */
  short?: string;
  /** the only values accepted (string, number and integer options) */
  choices?: readonly string[];
}

export interface CommandSpec {
  /** synopsis lines without the leading "cider ", e.g. 'train --dataset DATASET [options]' */
  usage: readonly string[];
  /** one or two lines on what it does */
  summary: string;
  /** subcommands (the first positional after the command), for help and "did you mean" */
  subcommands?: readonly string[];
  options: Readonly<Record<string, OptionSpec>>;
}

/** Options every command takes; declared here once. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'data-dir': {
    type: 'string',
    value: 'DIR',
    help: 'the data folder (default: $CIDER_DATA_DIR, else the per-user app folder)',
  },
  json: { type: 'boolean', help: 'print JSON instead of text (errors too, on stderr)' },
  help: { type: 'boolean', short: 'h', help: "show help (cider COMMAND --help: that command's options)" },
  version: { type: 'boolean', help: 'print the version' },
};

export interface ParsedArgs {
  /** positionals[0] is the command */
  positionals: string[];
  flags: Map<string, string | true>;
  /** the declaration the flags were checked against; reading an undeclared option is a programming error */
  spec?: CommandSpec;
}

export class UsageError extends Error {}

/** Damerau-Levenshtein (optimal string alignment) distance: a swap of two letters counts once. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The nearest candidate when it is close enough to be a typo, else undefined. */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD) [best, bestD] = [c, dist];
  }
  const limit = Math.max(1, Math.min(2, Math.floor(word.length / 3)));
  return bestD <= limit ? best : undefined;
}

const didYouMean = (word: string, candidates: Iterable<string>, prefix = '') => {
  const n = nearest(word, candidates);
  return n === undefined ? '' : `; did you mean "${prefix}${n}"?`;
};

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

function checkValue(name: string, spec: OptionSpec, value: string): void {
  if (spec.type === 'number' && !(NUMBER.test(value.trim()) && Number.isFinite(Number(value))))
    throw new UsageError(`--${name} must be a number, got "${value}"`);
  if (spec.type === 'integer' && !(/^[-+]?\d+$/.test(value.trim()) && Number.isSafeInteger(Number(value))))
    throw new UsageError(`--${name} must be a whole number, got "${value}"`);
  if (spec.choices && !spec.choices.includes(value))
    throw new UsageError(
      `--${name} must be one of ${spec.choices.join(', ')}, got "${value}"${value.length > 2 ? didYouMean(value, spec.choices) : ''}`,
    );
}

/**
 * Parse `argv` (after the command was found) against a command's declared options plus the global
 * ones. Throws UsageError for anything not declared or not well-formed.
 */
export function parseCommand(argv: string[], spec: CommandSpec | undefined): ParsedArgs {
  const declared: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS, ...(spec?.options ?? {}) };
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries(declared))
    config[name] = { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}) };
  // strict: false so that every problem is reported here, in our words, with a suggestion
  const { tokens } = tokenise({ args: argv, options: config, allowPositionals: true, strict: false, tokens: true });
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const o = declared[t.name];
    const shown = t.rawName;
    if (!o) {
      const where = positionals[0] ? ` for "cider ${positionals[0]}"` : '';
      throw new UsageError(`unknown option ${shown}${where}${didYouMean(t.name, Object.keys(declared), '--')}`);
    }
    if (o.type === 'boolean') {
      if (t.inlineValue) throw new UsageError(`${shown} is a switch and takes no value (got "${t.value}")`);
      flags.set(t.name, true);
      continue;
    }
    const v = t.value;
    const placeholder = o.value ?? 'VALUE';
    if (v === undefined) throw new UsageError(`${shown} needs a value (${shown} ${placeholder})`);
    // `--dataset --epochs 2` must not take "--epochs" as the dataset; `--seed -1` is a number, though
    if (!t.inlineValue && v.startsWith('-') && !((o.type === 'number' || o.type === 'integer') && NUMBER.test(v)))
      throw new UsageError(
        `${shown} needs a value (${shown} ${placeholder}), got the option ${v}; write ${shown}=${v} if that is the value`,
      );
    checkValue(t.name, o, v);
    flags.set(t.name, v);
  }
  return { positionals, flags, spec };
}

function declaredOrThrow(args: ParsedArgs, name: string): OptionSpec | undefined {
  const o = GLOBAL_OPTIONS[name] ?? args.spec?.options[name];
  // a command reading an option it does not declare would never receive it from the parser
  if (args.spec && !o) throw new Error(`the command reads --${name} but does not declare it in its options`);
  return o;
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  declaredOrThrow(args, name);
  const v = args.flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

export function flagNumber(args: ParsedArgs, name: string): number | undefined {
  const v = flagString(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || v.trim() === '') throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
}

export function flagBoolean(args: ParsedArgs, name: string): boolean {
  declaredOrThrow(args, name);
  return args.flags.has(name);
}

const optionLine = (name: string, o: OptionSpec): string => {
  const left = `  ${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'boolean' ? '' : ` ${o.choices ? o.choices.join('|') : (o.value ?? 'VALUE')}`}`;
  return `${left.padEnd(30)}${left.length >= 30 ? '\n' + ' '.repeat(30) : ''}${o.help}`;
};

/** `cider <command> --help` */
export function commandHelp(name: string, spec: CommandSpec): string {
  const opts = Object.entries(spec.options);
  return [
    `usage: ${spec.usage.map((u, i) => (i ? '       ' : '') + (u.startsWith(' ') ? `      ${u}` : `cider ${u}`)).join('\n')}`,
    '',
    spec.summary,
    ...(spec.subcommands?.length ? ['', `subcommands: ${spec.subcommands.join(', ')}`] : []),
    ...(opts.length ? ['', `options for "${name}":`, ...opts.map(([n, o]) => optionLine(n, o))] : []),
    '',
    'options for every command:',
    ...Object.entries(GLOBAL_OPTIONS).map(([n, o]) => optionLine(n, o)),
    '',
  ].join('\n');
}

/**
 * the command's lines in `cider help`. A synopsis continued on further lines (they start with
 * spaces, aligned for `cider COMMAND --help` under the first option) hangs by a fixed 4 columns
 * here, however long the command's first words, so the listing keeps one left edge per command.
 */
export function commandSummary(spec: CommandSpec): string {
  const usage = spec.usage.map((u) => (u.startsWith(' ') ? `      ${u.trimStart()}` : `  ${u}`));
  const summary = spec.summary.split('\n').map((l) => `${' '.repeat(30)}${l}`);
  return [...usage, ...summary].join('\n') + '\n';
}

export function globalOptionsHelp(): string {
  return Object.entries(GLOBAL_OPTIONS)
    .map(([n, o]) => optionLine(n, o))
    .join('\n');
}

/** the unknown-subcommand error, with a suggestion from the declared subcommands */
export function unknownSubcommand(command: string, sub: string, spec?: CommandSpec): UsageError {
  return new UsageError(
    `unknown subcommand "${command} ${sub}"${didYouMean(sub, spec?.subcommands ?? [], `${command} `)}`,
  );
}

/** `afterOption`: the word before `cmd` when it is an option no command declares (its value was taken for the command) */
export function unknownCommand(cmd: string, commands: Iterable<string>, afterOption?: string): UsageError {
  const hint = afterOption
    ? ` (it follows ${afterOption}, which no command declares; options go after the command: cider COMMAND ${afterOption} ...)`
    : '';
  return new UsageError(`unknown command "${cmd}"${didYouMean(cmd, commands)}${hint}`);
}

/**
 * Where the command is in `argv`: the first word that is neither an option nor an option's value,
 * or -1. Options may come before the command (`cider --data-dir D train`, `cider --epochs 3 train`),
 * so the value-taking options of every command are known here: a word after one of them is its
 * value. A name that takes a value in one command and is a switch in another takes the next word
 * unless that word is a command.
 */
export function findCommand(argv: readonly string[], specs: Readonly<Record<string, CommandSpec>>): number {
  const takesValue = optionKinds(specs);
  const isCommand = (w: string | undefined) => w !== undefined && (w === 'help' || w in specs);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return i + 1 < argv.length ? i + 1 : -1;
    if (!a.startsWith('-') || a === '-') return i;
    if (a.includes('=')) continue;
    const kinds = takesValue.get(a.replace(/^--?/, ''));
    if (!kinds?.has(true)) continue;
    if (kinds.has(false) && isCommand(argv[i + 1])) continue;
    i++;
  }
  return -1;
}

/** The option `word` (e.g. "--epochs", "-h") when no command nor the global options declare it. */
export function undeclaredOption(word: string | undefined, specs: Readonly<Record<string, CommandSpec>>) {
  if (word === undefined || !word.startsWith('-') || word.includes('=')) return undefined;
  return optionKinds(specs).has(word.replace(/^--?/, '')) ? undefined : word;
}

/** every declared option name and short alias -> whether it takes a value (true), is a switch (false), or both */
function optionKinds(specs: Readonly<Record<string, CommandSpec>>): Map<string, Set<boolean>> {
  const takesValue = new Map<string, Set<boolean>>();
  const note = (name: string, o: OptionSpec) => {
    for (const n of o.short ? [name, o.short] : [name]) {
      const kinds = takesValue.get(n) ?? new Set<boolean>();
      kinds.add(o.type !== 'boolean');
      takesValue.set(n, kinds);
    }
  };
  for (const [n, o] of Object.entries(GLOBAL_OPTIONS)) note(n, o);
  for (const spec of Object.values(specs)) for (const [n, o] of Object.entries(spec.options)) note(n, o);
  return takesValue;
}
