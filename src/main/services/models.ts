/**
 * The text encoders the user registered (`cider models add PATH`, the Models tab), kept in the
 * settings table. The first one added becomes the default; clip feature extraction and training
 * use the default when no folder is given.
 */
import { basename, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import type { Handlers } from '../../shared/api';
import type { TextEncoderModel } from '../../shared/contract/models';
import type { SettingsStore } from '../store/projects';

/** The folder inspector loads TF.js (BERT), so it is imported when a model is inspected, not at start-up. */
async function inspectFolder(folder: string): ReturnType<typeof import('../ml/text/folder').inspectModelFolder> {
  return (await import('../ml/text/folder')).inspectModelFolder(folder);
}

interface Registered {
  name: string;
  path: string;
}

const KEY = 'models.textEncoders';
const DEFAULT_KEY = 'models.defaultTextEncoder';

export class ModelRegistry {
  constructor(private readonly settings: SettingsStore) {}

  registered(): Registered[] {
    return this.settings.get<Registered[]>(KEY) ?? [];
  }

  defaultName(): string | null {
    return this.settings.get<string>(DEFAULT_KEY) ?? null;
  }

  /** the folder of a registered name, or null */
  pathOf(name: string): string | null {
    return this.registered().find((m) => m.name.toLowerCase() === name.toLowerCase())?.path ?? null;
  }

  defaultPath(): string | null {
    const d = this.defaultName();
    return d ? this.pathOf(d) : null;
  }

  async describe(m: Registered): Promise<TextEncoderModel> {
    const r = await inspectFolder(m.path);
    return {
      name: m.name,
      path: m.path,
      isDefault: this.defaultName() === m.name,
      ok: r.ok,
      problems: r.problems,
      warnings: r.warnings,
      weightsFormat: r.weightsFormat ?? null,
      hiddenSize: r.config?.hiddenSize ?? null,
      layers: r.config?.numHiddenLayers ?? null,
      vocabSize: r.vocabSize ?? null,
    };
  }

  async add(path: string, name?: string, makeDefault?: boolean): Promise<TextEncoderModel> {
    const folder = resolve(path);
    const report = await inspectFolder(folder);
    if (!report.ok)
      throw new AppError('INVALID_INPUT', `${folder} is not a usable text encoder: ${report.problems.join('; ')}`, {
        problems: report.problems,
      });
    const list = this.registered();
    const chosen = name ?? basename(folder);
    if (list.some((m) => m.name.toLowerCase() === chosen.toLowerCase()))
      throw new AppError('CONFLICT', `a text encoder named "${chosen}" is already registered (choose another --name)`);
    this.settings.set(KEY, [...list, { name: chosen, path: folder }]);
    if (makeDefault || !this.defaultName()) this.settings.set(DEFAULT_KEY, chosen);
    return this.describe({ name: chosen, path: folder });
  }

  remove(name: string): void {
    const list = this.registered();
    const kept = list.filter((m) => m.name.toLowerCase() !== name.toLowerCase());
    if (kept.length === list.length) throw new AppError('NOT_FOUND', `no text encoder named "${name}"`);
    this.settings.set(KEY, kept);
    if (this.defaultName()?.toLowerCase() === name.toLowerCase()) this.settings.set(DEFAULT_KEY, kept[0]?.name ?? null);
  }

  async setDefault(name: string): Promise<TextEncoderModel> {
    const m = this.registered().find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!m) throw new AppError('NOT_FOUND', `no text encoder named "${name}"`);
    this.settings.set(DEFAULT_KEY, m.name);
    return this.describe(m);
  }
}

export function createModelHandlers(ctx: { settings: SettingsStore }): Handlers<void>['models'] {
  const registry = new ModelRegistry(ctx.settings);
  return {
    list: () => Promise.all(registry.registered().map((m) => registry.describe(m))),
    add: ({ path, name, makeDefault }) => registry.add(path, name, makeDefault),
    remove: ({ name }) => {
      registry.remove(name);
      return { removed: true as const };
    },
    setDefault: ({ name }) => registry.setDefault(name),
  };
}
