/**
 * Where the text features of a view come from. The model consumes token features (B, L, dl);
 * a TextSource produces them for a range of batch rows, for the complete view and for the
 * missing view (dropped tokens become [UNK]). Two implementations: precomputed features (frozen
 * encoder, tests, benchmarks) and a pluggable encoder over token ids (BERT, fine-tuned: its
 * forward runs inside the gradient scope and its variables join the optimizer).
 */
import { tf } from '../backends/tf.js';

export const UNK_ID = 100;

export interface TextSource {
  /** complete-view features for rows [start, start + size): (size, L, dl) */
  full(start: number, size: number, training: boolean): tf.Tensor3D;
  /** missing-view features for the same rows; keep (size, L) is 1 where a token is kept */
  missing(start: number, size: number, keep: tf.Tensor2D, training: boolean): tf.Tensor3D;
  /** trainable encoder variables by name ('text_model.*'); empty when the encoder is frozen */
  readonly variables: Map<string, tf.Variable>;
}

function rows(t: tf.Tensor3D, start: number, size: number): tf.Tensor3D {
  return start === 0 && size === t.shape[0] ? t : t.slice([start, 0, 0], [size, t.shape[1], t.shape[2]]);
}

/**
 * Features computed beforehand. The missing view's features cannot be derived from the complete
 * view's (the encoder is contextual), so they must be supplied too for training.
 */
export function precomputedText(full: tf.Tensor3D, missing?: tf.Tensor3D): TextSource {
  return {
    variables: new Map(),
    full: (start, size) => rows(full, start, size),
    missing: (start, size) => {
      if (!missing)
        throw new Error(
          'precomputedText: the missing view needs its own text features (features of the ids with dropped tokens replaced by [UNK]); pass them or use encodedText',
        );
      return rows(missing, start, size);
    },
  };
}

/** A text encoder over token ids (BERT). Called inside the gradient scope when trainable. */
export interface TextEncoder {
  encode(ids: tf.Tensor2D, mask: tf.Tensor2D, segments: tf.Tensor2D, training: boolean): tf.Tensor3D;
  readonly variables: Map<string, tf.Variable>;
}

/** Token ids (B, L) int32, attention mask (B, L) and segment ids (B, L). */
export interface TextTokens {
  ids: tf.Tensor2D;
  mask: tf.Tensor2D;
  segments: tf.Tensor2D;
}

/**
 * Missing-view ids: valid tokens (attention mask 1) dropped by the keep mask become [UNK];
 * padding stays padding (spec 3), whatever the keep mask says there (keep masks are 0 at padding).
 * The keep mask must keep [CLS] and [SEP]; see masks.ts.
 */
export function missingIds(ids: tf.Tensor2D, keep: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(
    () =>
      tf.where(
        tf.logicalAnd(tf.greater(mask, 0.5), tf.lessEqual(keep, 0.5)),
        tf.fill(ids.shape, UNK_ID, 'int32'),
        ids,
      ) as tf.Tensor2D,
  );
}

export function encodedText(encoder: TextEncoder, tokens: TextTokens): TextSource {
  const slice = (t: tf.Tensor2D, start: number, size: number) =>
    start === 0 && size === t.shape[0] ? t : t.slice([start, 0], [size, t.shape[1]]);
  return {
    variables: encoder.variables,
    full: (start, size, training) =>
      encoder.encode(
        slice(tokens.ids, start, size),
        slice(tokens.mask, start, size),
        slice(tokens.segments, start, size),
        training,
      ),
    missing: (start, size, keep, training) =>
      encoder.encode(
        missingIds(slice(tokens.ids, start, size), keep, slice(tokens.mask, start, size)),
        slice(tokens.mask, start, size),
        slice(tokens.segments, start, size),
        training,
      ),
  };
}
