/**
 * Text-encoder model folders (Hugging Face BERT: config.json, vocab.txt, model.safetensors or
 * pytorch_model.bin) the user registered. Nothing is fetched: a folder is inspected where it is,
 * and a folder with something missing is refused with what is missing.
 */
import { z } from 'zod';
import { method, nameSchema, none } from './method';

export interface TextEncoderModel {
  name: string;
  path: string;
  isDefault: boolean;
  /** inspected now: a folder can change after it was added */
  ok: boolean;
  problems: string[];
  warnings: string[];
  weightsFormat: 'safetensors' | 'pytorch' | null;
  hiddenSize: number | null;
  layers: number | null;
  vocabSize: number | null;
}

const name = nameSchema('a text encoder', 100);

export const modelsContract = {
  list: method<TextEncoderModel[]>()(none),
  add: method<TextEncoderModel>()(
    z
      .object({ path: z.string().min(1).max(4096), name: name.optional(), makeDefault: z.boolean().optional() })
      .strict(),
  ),
  remove: method<{ removed: true }>()(z.object({ name }).strict()),
  setDefault: method<TextEncoderModel>()(z.object({ name }).strict()),
} as const;
