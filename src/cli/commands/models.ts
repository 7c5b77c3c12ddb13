/** `cider models`: the BERT folders the app may use as text encoders. Nothing is downloaded. */
import type { TextEncoderModel } from '../../shared/contract/models';
import { flagBoolean, flagString, unknownSubcommand, UsageError, type CommandSpec } from '../args';
import { call, print, printList, type Command } from '../io';

/** what `list` says when there is nothing to list */
const NO_MODELS = 'no text encoders: add a BERT folder with "cider models add PATH"';

export const MODELS_SPECS: Record<string, CommandSpec> = {
  models: {
    usage: ['models [list]', 'models add PATH [--name NAME] [--default]', 'models remove NAME | models default NAME'],
    summary:
      'registered text encoders (BERT folders: config.json, vocab.txt, model.safetensors or pytorch_model.bin);\na folder missing anything is refused, naming it. Nothing is downloaded.',
    subcommands: ['list', 'add', 'remove', 'default'],
    options: {
      name: { type: 'string', value: 'NAME', help: "add: the model's name (default: the folder's name)" },
      default: { type: 'boolean', help: 'add: make it the default text encoder' },
    },
  },
};

function line(m: TextEncoderModel): string {
  const shape = m.ok
    ? `${m.layers} layers, hidden ${m.hiddenSize}, vocab ${m.vocabSize}, ${m.weightsFormat}`
    : `NOT USABLE: ${m.problems.join('; ')}`;
  return `${m.isDefault ? '*' : ' '} ${m.name.padEnd(24)} ${shape}  ${m.path}`;
}

export const MODELS_COMMANDS: Record<string, Command> = {
  async models(app, args, io) {
    const sub = args.positionals[1] ?? 'list';
    if (sub === 'list') {
      await printList(app, args, io, { method: 'models.list' }, line, NO_MODELS);
      return 0;
    }
    const target = args.positionals[2];
    if (!target) throw new UsageError(`models ${sub} needs a ${sub === 'add' ? 'PATH' : 'NAME'}`);
    if (sub === 'add') {
      const m = await call<TextEncoderModel>(app, 'models.add', {
        path: target,
        name: flagString(args, 'name'),
        makeDefault: flagBoolean(args, 'default'),
      });
      print(io, args, m, () => [`added ${line(m).trim()}`, ...m.warnings.map((w) => `  warning: ${w}`)]);
      return 0;
    }
    if (sub === 'remove') {
      await call(app, 'models.remove', { name: target });
      print(io, args, { removed: target }, () => [`removed ${target}`]);
      return 0;
    }
    if (sub === 'default') {
      const m = await call<TextEncoderModel>(app, 'models.setDefault', { name: target });
      print(io, args, m, () => [line(m)]);
      return 0;
    }
    throw unknownSubcommand('models', sub, MODELS_SPECS.models);
  },
};
