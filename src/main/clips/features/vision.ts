/**
 * Per-frame face features from the face model's result: presence, box, the seven expression
 * scores, head pose, and mesh-based measures (mouth and eye openness, brow raise, mouth width),
 * each normalised by the face box so they do not depend on how far the face is from the camera.
 * A frame without a face is all zeros with facePresent 0.
 */
import { EMOTIONS, type FaceResult } from '../../ml/backends/face';

export const VISION_FRAME_RATE = 10;
/**
 * A detection counts as a face only at this confidence or more (the detector's own floor, 0.3, lets
 * through doubtful boxes on patterns); below it the frame is "no face", all zeros.
 */
export const FACE_MIN_CONFIDENCE = 0.5;

/** the face if the detector is confident of it, else null (no face in this frame) */
export function confidentFace(face: FaceResult | null): FaceResult | null {
  return face && Number.isFinite(face.score) && face.score >= FACE_MIN_CONFIDENCE ? face : null;
}
/** frames are scaled so their longer side is at most this before detection */
export const VISION_MAX_SIDE = 320;

export const VISION_FEATURE_NAMES: string[] = [
  'facePresent',
  'faceScore',
  'boxCx',
  'boxCy',
  'boxW',
  'boxH',
  ...EMOTIONS.map((e) => `emotion_${e}`),
  'yaw',
  'pitch',
  'roll',
  'mouthOpen',
  'mouthWidth',
  'leftEyeOpen',
  'rightEyeOpen',
  'browRaise',
];

type Pt = [number, number, number?];

function mid(points: Pt[] | undefined): Pt | null {
  if (!points?.length) return null;
  return points[Math.floor(points.length / 2)];
}
function dist(a: Pt | null, b: Pt | null): number {
  if (!a || !b) return 0;
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

export function visionFeatureRow(face: FaceResult | null, width: number, height: number, out: Float32Array): void {
  out.fill(0);
  if (!face) return;
  const [x, y, w, h] = face.box;
  const a = face.annotations ?? {};
  out[0] = 1;
  out[1] = face.score;
  out[2] = (x + w / 2) / width;
  out[3] = (y + h / 2) / height;
  out[4] = w / width;
  out[5] = h / height;
  for (const e of face.emotion ?? []) {
    const k = EMOTIONS.indexOf(e.emotion as (typeof EMOTIONS)[number]);
    if (k >= 0) out[6 + k] = e.score;
  }
  const angle = face.rotation?.angle;
  const p = 6 + EMOTIONS.length;
  if (angle) {
    out[p] = angle.yaw;
    out[p + 1] = angle.pitch;
    out[p + 2] = angle.roll;
  }
  const norm = h > 0 ? h : 1;
  out[p + 3] = dist(mid(a.lipsUpperInner), mid(a.lipsLowerInner)) / norm;
  const lips = a.lipsUpperOuter;
  out[p + 4] = lips?.length ? dist(lips[0], lips[lips.length - 1]) / (w > 0 ? w : 1) : 0;
  out[p + 5] = dist(mid(a.leftEyeUpper0), mid(a.leftEyeLower0)) / norm;
  out[p + 6] = dist(mid(a.rightEyeUpper0), mid(a.rightEyeLower0)) / norm;
  out[p + 7] =
    (dist(mid(a.leftEyebrowLower), mid(a.leftEyeUpper0)) + dist(mid(a.rightEyebrowLower), mid(a.rightEyeUpper0))) /
    2 /
    norm;
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) out[i] = 0;
}
