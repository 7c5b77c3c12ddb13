/**
 * Frame-level acoustic features with meyda (MFCCs, RMS energy, zero-crossing rate, spectral
 * centroid/flatness/rolloff/spread) plus a YIN pitch estimate (pitchfinder, 64 ms window; values
 * outside 50-600 Hz count as unvoiced), on mono 16 kHz PCM
 * decoded by ffmpeg, at a fixed 100 frames per second (10 ms hop, 32 ms Hann window), the usual
 * speech front end (COVAREP, the MOSI/MOSEI audio features, also runs at 100 Hz).
 */
import Meyda from 'meyda';
import Pitchfinder from 'pitchfinder';

export const AUDIO_EXTRACTOR_VERSION = 'meyda5-yin-16k-100hz-v2';
export const AUDIO_SAMPLE_RATE = 16_000;
export const AUDIO_FRAME_RATE = 100;
const HOP = AUDIO_SAMPLE_RATE / AUDIO_FRAME_RATE;
const WINDOW = 512;
/** YIN needs several pitch periods: 64 ms (a 512-sample window misses most of a male voice's periods) */
const PITCH_WINDOW = 1024;
const MFCC = 13;

export const AUDIO_FEATURE_NAMES: string[] = [
  ...Array.from({ length: MFCC }, (_, i) => `mfcc${i}`),
  'rms',
  'logEnergy',
  'zcr',
  'spectralCentroidHz',
  'spectralFlatness',
  'spectralRolloffHz',
  'spectralSpreadHz',
  'pitchHz',
  'voiced',
];

export interface AudioFeatures {
  rate: number;
  frames: number;
  dims: number;
  data: Float32Array;
}

/** Features of `pcm` (mono, AUDIO_SAMPLE_RATE); frame t is centred at t / AUDIO_FRAME_RATE seconds. */
export function audioFeatures(pcm: Float32Array, opts: { signal?: AbortSignal } = {}): AudioFeatures {
  Meyda.bufferSize = WINDOW;
  Meyda.sampleRate = AUDIO_SAMPLE_RATE;
  Meyda.numberOfMFCCCoefficients = MFCC;
  Meyda.windowingFunction = 'hanning';
  const yin = Pitchfinder.YIN({ sampleRate: AUDIO_SAMPLE_RATE, threshold: 0.2 });
  const pitchBuf = new Float32Array(PITCH_WINDOW);
  const frames = Math.max(0, Math.ceil(pcm.length / HOP));
  const dims = AUDIO_FEATURE_NAMES.length;
  const data = new Float32Array(frames * dims);
  const buf = new Float32Array(WINDOW);
  const binHz = AUDIO_SAMPLE_RATE / WINDOW;
  for (let t = 0; t < frames; t++) {
    if (t % 200 === 0 && opts.signal?.aborted) break;
    // window centred on the frame time, zero-padded at the edges
    const start = t * HOP - WINDOW / 2;
    buf.fill(0);
    for (let i = 0; i < WINDOW; i++) {
      const j = start + i;
      if (j >= 0 && j < pcm.length) buf[i] = pcm[j];
    }
    let energy = 0;
    for (let i = 0; i < WINDOW; i++) energy += buf[i] * buf[i];
    const row = data.subarray(t * dims, (t + 1) * dims);
    if (energy < 1e-10) {
      // digital silence: meyda's spectral ratios are 0/0 there; keep the frame neutral
      row[MFCC + 1] = Math.log(1e-10);
      continue;
    }
    const f = Meyda.extract(
      ['mfcc', 'rms', 'zcr', 'spectralCentroid', 'spectralFlatness', 'spectralRolloff', 'spectralSpread'],
      buf,
    ) as {
      mfcc: number[];
      rms: number;
      zcr: number;
      spectralCentroid: number;
      spectralFlatness: number;
      spectralRolloff: number;
      spectralSpread: number;
    };
    for (let i = 0; i < MFCC; i++) row[i] = f.mfcc[i];
    row[MFCC] = f.rms;
    row[MFCC + 1] = Math.log(energy + 1e-10);
    row[MFCC + 2] = f.zcr / WINDOW;
    row[MFCC + 3] = f.spectralCentroid * binHz;
    row[MFCC + 4] = f.spectralFlatness;
    row[MFCC + 5] = f.spectralRolloff;
    row[MFCC + 6] = f.spectralSpread * binHz;
    const p0 = t * HOP - PITCH_WINDOW / 2;
    pitchBuf.fill(0);
    for (let i = 0; i < PITCH_WINDOW; i++) {
      const j = p0 + i;
      if (j >= 0 && j < pcm.length) pitchBuf[i] = pcm[j];
    }
    const pitch = yin(pitchBuf);
    const voiced = pitch !== null && Number.isFinite(pitch) && pitch >= 50 && pitch <= 600;
    row[MFCC + 7] = voiced ? pitch : 0;
    row[MFCC + 8] = voiced ? 1 : 0;
    for (let i = 0; i < dims; i++) if (!Number.isFinite(row[i])) row[i] = 0;
  }
  return { rate: AUDIO_FRAME_RATE, frames, dims, data };
}
