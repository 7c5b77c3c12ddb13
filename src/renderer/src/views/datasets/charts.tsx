/** Small inline SVG charts for the datasets view (no chart library). */
import { proportions } from '../../state/datasets';

const PALETTE3 = ['#c0392b', '#8e96a8', '#2e86c1'];
const PALETTE7 = ['#922b21', '#c0392b', '#e59866', '#8e96a8', '#85c1e9', '#2e86c1', '#1b4f72'];

/**
 * Class counts as bars scaled to the split's proportions (so splits of different sizes compare),
 * each bar labelled with its count. `data-counts` carries the numbers for tests and tooltips.
 */
export function LabelBars({
  counts,
  classNames,
  title,
  testId,
}: {
  counts: number[];
  classNames: readonly string[];
  title: string;
  testId?: string;
}) {
  const w = Math.max(150, counts.length * 30);
  const h = 110;
  const top = 16;
  const bottom = 18;
  const p = proportions(counts);
  const max = Math.max(...p, 1e-9);
  const bw = w / counts.length;
  const colors = counts.length === 3 ? PALETTE3 : PALETTE7;
  const total = counts.reduce((a, b) => a + b, 0);
  return (
    <figure className="label-bars" data-testid={testId} data-counts={counts.join(',')}>
      <figcaption>
        {title} <span className="muted">n={total}</span>
      </figcaption>
      <svg
        width={w}
        height={h}
        viewBox={`0 0 ${w} ${h}`}
        role="img"
        aria-label={`${title}: ${counts.map((c, i) => `${classNames[i]} ${c}`).join(', ')}`}
      >
        {counts.map((c, i) => {
          const bh = ((h - top - bottom) * p[i]) / max;
          const x = i * bw + 3;
          const y = h - bottom - bh;
          return (
            <g key={i}>
              <rect x={x} y={y} width={bw - 6} height={bh} fill={colors[i % colors.length]}>
                <title>{`${classNames[i]}: ${c} (${(100 * p[i]).toFixed(1)}%)`}</title>
              </rect>
              <text x={x + (bw - 6) / 2} y={y - 3} textAnchor="middle" className="bar-count">
                {c}
              </text>
              <text x={x + (bw - 6) / 2} y={h - 5} textAnchor="middle" className="bar-label">
                {counts.length === 3 ? classNames[i].slice(0, 3) : classNames[i]}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

const LINE_COLORS = ['#2e86c1', '#c0392b', '#27ae60', '#8e44ad', '#d68910', '#17a589'];

/** Feature tracks: a few channels as lines over the sample's frames, each normalised to its own range. */
export function TrackChart({
  x,
  series,
  frames,
  title,
  channels,
  testId,
}: {
  x: number[];
  series: number[][];
  frames: number;
  title: string;
  channels: number[];
  testId?: string;
}) {
  const w = 520;
  const h = 120;
  const pad = 4;
  const sx = (f: number) => pad + ((w - 2 * pad) * f) / Math.max(1, frames - 1);
  return (
    <figure className="track" data-testid={testId}>
      <figcaption>
        {title}{' '}
        <span className="muted">
          ({frames} frames; channels {channels.join(', ')}, each scaled to its range)
        </span>
      </figcaption>
      <svg width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={title}>
        <rect x={0} y={0} width={w} height={h} fill="#fbfcfe" stroke="#e3e6ef" />
        {channels.map((c, k) => {
          const ys = series[c] ?? [];
          const lo = Math.min(...ys);
          const hi = Math.max(...ys);
          const sy = (v: number) => (hi > lo ? h - pad - ((h - 2 * pad) * (v - lo)) / (hi - lo) : h / 2);
          const d = ys.map((v, i) => `${i ? 'L' : 'M'}${sx(x[i]).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
          return <path key={c} d={d} fill="none" stroke={LINE_COLORS[k % LINE_COLORS.length]} strokeWidth={1.3} />;
        })}
      </svg>
    </figure>
  );
}

/** A count as a small horizontal bar next to its number (bias-word table). */
export function CountCell({ value, max }: { value: number; max: number }) {
  const width = max > 0 ? Math.round((48 * value) / max) : 0;
  return (
    <td className="count-cell">
      <svg width={50} height={10} aria-hidden="true">
        <rect x={0} y={1} width={width} height={8} fill="#9db3ee" />
      </svg>
      <span>{value}</span>
    </td>
  );
}
