/**
 * The clip player: the video (streamed from the token-protected media route), and a timeline with
 * the transcript words, the audio waveform and feature tracks, drawn as SVG. Keyboard-driven when
 * focused: Space play/pause, Left/Right one frame (Shift: one second), [ and ] playback speed,
 * Home/End. Click or drag on the timeline to scrub.
 */
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import type { Api } from '../../../../shared/api';
import type { ClipDetail, FeatureTrack } from '../../../../shared/clips';
import { clipMediaUrl } from '../../api/client';

const SPEEDS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2];
const W = 1000;

interface Track {
  label: string;
  values: number[];
  rate: number;
}

function pickTracks(audio: FeatureTrack | null, vision: FeatureTrack | null): Track[] {
  const out: Track[] = [];
  const col = (t: FeatureTrack, name: string, label: string) => {
    const k = t.names.indexOf(name);
    if (k < 0) return;
    const values: number[] = [];
    for (let f = 0; f < t.frames; f++) values.push(t.values[f * t.names.length + k]);
    out.push({ label, values, rate: t.rate });
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

export function ClipPlayer({ api, clip }: { api: Api; clip: ClipDetail }) {
  const video = useRef<HTMLVideoElement>(null);
  const svg = useRef<SVGSVGElement>(null);
  const [time, setTime] = useState(0);
  const [speed, setSpeed] = useState(1);
  const [playing, setPlaying] = useState(false);
  const [wave, setWave] = useState<{ min: number[]; max: number[] } | null>(null);
  const [tracks, setTracks] = useState<Track[]>([]);
  const [mediaError, setMediaError] = useState<string | null>(null);
  const duration = clip.durationSec;
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
    })();
    return () => {
      live = false;
    };
  }, [api, clip.id, clip.hasAudio]);

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
    const k = e.key;
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
    else return;
    e.preventDefault();
  };
  const scrub = (e: PointerEvent<SVGSVGElement>) => {
    if (e.type === 'pointermove' && e.buttons !== 1) return;
    const r = svg.current!.getBoundingClientRect();
    seek(((e.clientX - r.left) / r.width) * duration);
  };

  const x = (t: number) => (t / duration) * W;
  const rowH = 28;
  const rows = 2 + tracks.length;
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
        onPointerDown={scrub}
        onPointerMove={scrub}
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
            <polyline className="feature" points={polyline(t.values, t.rate, duration, rowH)} fill="none" />
          </g>
        ))}
        <line x1={x(time)} x2={x(time)} y1={0} y2={rows * rowH} className="playhead" />
      </svg>
    </div>
  );
}
