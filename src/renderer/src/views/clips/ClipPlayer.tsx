/**
 * The clip player: the video (streamed from the token-protected media route), and a timeline with
 * the transcript words, the audio waveform and feature tracks, drawn as SVG. Keyboard-driven when
 * focused: Space play/pause, Left/Right one frame (Shift: one second), [ and ] playback speed,
 * Home/End; other keys go to `onKey` (the tier editor's). Click or drag on the timeline to scrub.
 * With a `lane`, the annotator's tier is the bottom row: drag on free time to create a segment,
 * drag a segment to move it, drag its edges to resize (edges snap to word boundaries).
 * The face track shades the frames where the detector found no face with confidence.
 */
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import type { Api } from '../../../../shared/api';
import type { ClipDetail, FeatureTrack } from '../../../../shared/clips';
import type { TierValue } from '../../../../shared/tiers';
import { clipMediaUrl } from '../../api/client';
import type { EditSegment } from '../../state/segmentEditor';

export interface LaneView {
  label: string;
  segments: EditSegment[];
  selected: string | null;
  markIn: number | null;
  valueText(v: TierValue): string;
  onCreate(start: number, end: number, snap: number): void;
  onMove(key: string, start: number, snap: number): void;
  onResize(key: string, edge: 'start' | 'end', to: number, snap: number): void;
  onSelect(key: string | null): void;
}

export interface PlayerKeys {
  time: number;
  seek(t: number): void;
}

/** pixels on screen: edges within this grab for resizing, snapping reaches this far */
const EDGE_PX = 6;
const SNAP_PX = 8;

const SPEEDS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2];
const W = 1000;

interface Track {
  label: string;
  values: number[];
  rate: number;
  /** the face track: spans (seconds) without a confident face, drawn as "no face" */
  absent?: [number, number][];
}

/** runs of frames whose value is 0 (no face), as time spans */
function absentSpans(values: number[], rate: number): [number, number][] {
  const out: [number, number][] = [];
  let from = -1;
  values.forEach((v, i) => {
    if (v < 0.5 && from < 0) from = i;
    if (v >= 0.5 && from >= 0) {
      out.push([from / rate, i / rate]);
      from = -1;
    }
  });
  if (from >= 0) out.push([from / rate, values.length / rate]);
  return out;
}

function pickTracks(audio: FeatureTrack | null, vision: FeatureTrack | null): Track[] {
  const out: Track[] = [];
  const col = (t: FeatureTrack, name: string, label: string) => {
    const k = t.names.indexOf(name);
    if (k < 0) return;
    const values: number[] = [];
    for (let f = 0; f < t.frames; f++) values.push(t.values[f * t.names.length + k]);
    out.push({
      label,
      values,
      rate: t.rate,
      ...(name === 'facePresent' ? { absent: absentSpans(values, t.rate) } : {}),
    });
  };
  if (audio) {
    col(audio, 'rms', 'energy (RMS)');
    col(audio, 'pitchHz', 'pitch');
  }
  if (vision) {
    col(vision, 'facePresent', 'face');
    col(vision, 'emotion_happy', 'happy');
    col(vision, 'yaw', 'head yaw');
  }
  return out;
}

function polyline(values: number[], rate: number, duration: number, h: number): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || 1;
  return values
    .map((v, i) => `${((i / rate / duration) * W).toFixed(1)},${(h - ((v - lo) / span) * (h - 2) - 1).toFixed(1)}`)
    .join(' ');
}

export function ClipPlayer({
  api,
  clip,
  lane,
  onKey: onLaneKey,
  onTime,
}: {
  api: Api;
  clip: ClipDetail;
  lane?: LaneView;
  /** keys the player does not use; true when handled */
  onKey?: (e: KeyboardEvent, p: PlayerKeys) => boolean;
  onTime?: (t: number) => void;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const svg = useRef<SVGSVGElement>(null);
  const [time, setTime] = useState(0);
  const [speed, setSpeed] = useState(1);
  const [playing, setPlaying] = useState(false);
  const [wave, setWave] = useState<{ min: number[]; max: number[] } | null>(null);
  const [tracks, setTracks] = useState<Track[]>([]);
  const [visionMissing, setVisionMissing] = useState<string | null>(null);
  const [drag, setDrag] = useState<{
    mode: 'create' | 'move' | 'start' | 'end';
    key?: string;
    from: number;
    offset: number;
    start: number;
    end: number;
  } | null>(null);
  const [mediaError, setMediaError] = useState<string | null>(null);
  const duration = clip.durationSec;
  // primitives: the clip object is fetched anew after every save, its vision state rarely changes
  const visionAvailable = clip.modalities.vision.available;
  const visionReason = clip.modalities.vision.reason;
  const frame = 1 / (clip.fps ?? 25);

  useEffect(() => {
    let live = true;
    void (async () => {
      const [w, a, v] = await Promise.all([
        clip.hasAudio ? api.clips.waveform({ id: clip.id, points: 600 }).catch(() => null) : null,
        api.clips.features({ id: clip.id, modality: 'audio', maxFrames: 600 }).catch(() => null),
        api.clips.features({ id: clip.id, modality: 'vision', maxFrames: 600 }).catch(() => null),
      ]);
      if (!live) return;
      setWave(w);
      setTracks(pickTracks(a, v));
      setVisionMissing(v || visionAvailable ? null : visionReason);
    })();
    return () => {
      live = false;
    };
  }, [api, clip.id, clip.hasAudio, visionAvailable, visionReason]);
  useEffect(() => onTime?.(time), [time, onTime]);

  const seek = (t: number) => {
    const v = video.current;
    const to = Math.max(0, Math.min(duration, t));
    if (v) v.currentTime = to;
    setTime(to);
  };
  const setRate = (s: number) => {
    setSpeed(s);
    if (video.current) video.current.playbackRate = s;
  };
  const onKey = (e: KeyboardEvent) => {
    const v = video.current;
    if (!v) return;
    if ((e.target as HTMLElement).closest('input, textarea, select')) return;
    const k = e.key;
    if (e.ctrlKey || e.metaKey || e.altKey) {
      if (onLaneKey?.(e, { time, seek })) e.preventDefault();
      return;
    }
    if (k === ' ') {
      if (v.paused) void v.play().catch(() => undefined);
      else v.pause();
    } else if (k === 'ArrowRight' || k === 'ArrowLeft') {
      v.pause();
      seek(v.currentTime + (k === 'ArrowRight' ? 1 : -1) * (e.shiftKey ? 1 : frame));
    } else if (k === '[' || k === ']') {
      const i = SPEEDS.indexOf(speed);
      setRate(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, i + (k === ']' ? 1 : -1)))]);
    } else if (k === 'Home') seek(0);
    else if (k === 'End') seek(duration);
    else if (!onLaneKey?.(e, { time, seek })) return;
    e.preventDefault();
  };
  const x = (t: number) => (t / duration) * W;
  const rowH = 28;
  const trackRows = 2 + tracks.length + (visionMissing ? 1 : 0);
  const rows = trackRows + (lane ? 1 : 0);
  const laneY = trackRows * rowH;

  /** time under the pointer, and whether it is on the lane row; px: seconds per screen pixel */
  const locate = (e: PointerEvent<SVGSVGElement>) => {
    const r = svg.current!.getBoundingClientRect();
    const t = Math.max(0, Math.min(duration, ((e.clientX - r.left) / r.width) * duration));
    const y = ((e.clientY - r.top) / r.height) * rows * rowH;
    return { t, onLane: !!lane && y >= laneY, px: duration / r.width };
  };
  const pointerDown = (e: PointerEvent<SVGSVGElement>) => {
    const { t, onLane, px } = locate(e);
    if (!onLane || !lane) {
      seek(t);
      return;
    }
    svg.current!.setPointerCapture?.(e.pointerId);
    const hit = lane.segments.find((s) => t >= s.start - EDGE_PX * px && t <= s.end + EDGE_PX * px);
    if (hit) {
      lane.onSelect(hit.key);
      const mode =
        Math.abs(t - hit.start) <= EDGE_PX * px ? 'start' : Math.abs(t - hit.end) <= EDGE_PX * px ? 'end' : 'move';
      setDrag({ mode, key: hit.key, from: t, offset: t - hit.start, start: hit.start, end: hit.end });
    } else setDrag({ mode: 'create', from: t, offset: 0, start: t, end: t });
  };
  const pointerMove = (e: PointerEvent<SVGSVGElement>) => {
    if (e.buttons !== 1) return;
    const { t } = locate(e);
    if (!drag) {
      seek(t);
      return;
    }
    const len = drag.end - drag.start;
    if (drag.mode === 'create') setDrag({ ...drag, start: Math.min(drag.from, t), end: Math.max(drag.from, t) });
    else if (drag.mode === 'move') setDrag({ ...drag, start: t - drag.offset, end: t - drag.offset + len });
    else if (drag.mode === 'start') setDrag({ ...drag, start: Math.min(t, drag.end) });
    else setDrag({ ...drag, end: Math.max(t, drag.start) });
  };
  const pointerUp = (e: PointerEvent<SVGSVGElement>) => {
    if (!drag || !lane) return;
    const { px } = locate(e);
    const snap = SNAP_PX * px;
    setDrag(null);
    const moved = Math.abs(locate(e).t - drag.from) > px;
    if (!moved) {
      if (drag.mode === 'create') lane.onSelect(null);
      seek(drag.from);
      return;
    }
    if (drag.mode === 'create') lane.onCreate(drag.start, drag.end, snap);
    else if (drag.mode === 'move') lane.onMove(drag.key!, drag.start, snap);
    else lane.onResize(drag.key!, drag.mode, drag.mode === 'start' ? drag.start : drag.end, snap);
  };
  return (
    <div
      className="clip-player"
      tabIndex={0}
      onKeyDown={onKey}
      aria-label="Player (Space play/pause, arrows step frames, [ ] speed)"
      data-testid="clip-player"
    >
      <video
        ref={video}
        src={clipMediaUrl(clip.id)}
        preload="auto"
        onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)}
        onSeeked={(e) => setTime(e.currentTarget.currentTime)}
        onPlay={() => setPlaying(true)}
        onPause={() => setPlaying(false)}
        onError={() => setMediaError('this browser cannot play this file (try converting it to .webm or .mp4/H.264)')}
        onLoadedMetadata={(e) => (e.currentTarget.playbackRate = speed)}
        data-testid="clip-video"
      />
      {mediaError ? <p className="error">{mediaError}</p> : null}
      <div className="player-controls">
        <button
          onClick={() =>
            video.current?.paused ? void video.current.play().catch(() => undefined) : video.current?.pause()
          }
        >
          {playing ? 'Pause' : 'Play'}
        </button>
        <button onClick={() => seek(time - frame)} aria-label="Previous frame">
          ◀|
        </button>
        <button onClick={() => seek(time + frame)} aria-label="Next frame">
          |▶
        </button>
        <label>
          speed{' '}
          <select value={speed} onChange={(e) => setRate(Number(e.target.value))} aria-label="Playback speed">
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}x
              </option>
            ))}
          </select>
        </label>
        <span data-testid="player-time">
          {time.toFixed(2)} / {duration.toFixed(2)} s
        </span>
      </div>
      <svg
        ref={svg}
        className="timeline"
        viewBox={`0 0 ${W} ${rows * rowH}`}
        preserveAspectRatio="none"
        onPointerDown={pointerDown}
        onPointerMove={pointerMove}
        onPointerUp={pointerUp}
        data-testid="timeline"
        role="img"
        aria-label="Timeline"
      >
        <text x={2} y={10} className="track-label">
          words
        </text>
        {clip.words
          .filter((w) => w.start !== null)
          .map((w, i) => (
            <g key={i}>
              <rect
                x={x(w.start!)}
                y={12}
                width={Math.max(1, x(w.end!) - x(w.start!))}
                height={rowH - 14}
                className={time >= w.start! && time < w.end! ? 'word active' : 'word'}
              />
              <text x={x(w.start!) + 2} y={rowH - 6} className="word-text">
                {w.text}
              </text>
            </g>
          ))}
        <text x={2} y={rowH + 10} className="track-label">
          {clip.hasAudio ? 'waveform' : 'no audio track'}
        </text>
        {wave ? (
          <path
            className="waveform"
            d={wave.max
              .map(
                (m, i) =>
                  `M${((i / wave.max.length) * W).toFixed(1)},${(rowH * 1.5 - m * (rowH / 2 - 1)).toFixed(1)}V${(rowH * 1.5 - wave.min[i] * (rowH / 2 - 1)).toFixed(1)}`,
              )
              .join('')}
          />
        ) : null}
        {tracks.map((t, k) => (
          <g key={t.label} transform={`translate(0, ${(k + 2) * rowH})`}>
            <text x={2} y={10} className="track-label">
              {t.label}
            </text>
            {t.absent?.map(([a, b], i) => (
              <g key={i} className="no-face" data-testid="no-face">
                <rect x={x(a)} y={1} width={Math.max(1, x(b) - x(a))} height={rowH - 2} />
                {x(b) - x(a) > 40 ? (
                  <text x={x(a) + 4} y={rowH - 8}>
                    no face
                  </text>
                ) : null}
              </g>
            ))}
            <polyline className="feature" points={polyline(t.values, t.rate, duration, rowH)} fill="none" />
          </g>
        ))}
        {visionMissing ? (
          <g transform={`translate(0, ${(trackRows - 1) * rowH})`} className="no-face" data-testid="no-face">
            <rect x={0} y={1} width={W} height={rowH - 2} />
            <text x={4} y={rowH - 8}>
              face: no face ({visionMissing})
            </text>
          </g>
        ) : null}
        {lane ? (
          <g transform={`translate(0, ${laneY})`} data-testid="tier-lane">
            <rect x={0} y={0} width={W} height={rowH} className="lane-bg" />
            <text x={2} y={10} className="track-label">
              {lane.label}
            </text>
            {lane.segments.map((s) => {
              const shown = drag && drag.key === s.key ? { start: drag.start, end: drag.end } : s;
              return (
                <g
                  key={s.key}
                  className={s.key === lane.selected ? 'segment selected' : 'segment'}
                  data-testid="segment"
                >
                  <rect
                    x={x(shown.start)}
                    y={12}
                    width={Math.max(1, x(shown.end) - x(shown.start))}
                    height={rowH - 13}
                  />
                  <text x={x(shown.start) + 3} y={rowH - 4} className="segment-text">
                    {lane.valueText(s.value)}
                  </text>
                </g>
              );
            })}
            {drag?.mode === 'create' ? (
              <rect
                x={x(drag.start)}
                y={12}
                width={Math.max(1, x(drag.end) - x(drag.start))}
                height={rowH - 13}
                className="segment-draft"
              />
            ) : null}
            {lane.markIn !== null ? (
              <line x1={x(lane.markIn)} x2={x(lane.markIn)} y1={0} y2={rowH} className="mark-in" />
            ) : null}
          </g>
        ) : null}
        <line x1={x(time)} x2={x(time)} y1={0} y2={rows * rowH} className="playhead" />
      </svg>
    </div>
  );
}
