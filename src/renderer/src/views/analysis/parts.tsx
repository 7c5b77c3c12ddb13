/** Small pieces of the Analysis tab: probability bars, Shapley bars, token chips, heatmaps, tables. Inline SVG, no library. */

export const fmt = (x: number | null | undefined, d = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d);
export const CLASS_COLORS = ['#c0392b', '#8e96a8', '#2e86c1', '#1b4f72', '#85c1e9', '#e59866', '#922b21'];

/** Class probabilities as horizontal bars; data-values carries the numbers for tests. */
export function ProbabilityBars({
  values,
  names,
  testId,
  title,
}: {
  values: number[];
  names: string[];
  testId: string;
  title: string;
}) {
  return (
    <figure className="prob-bars" data-testid={testId} data-values={values.map((v) => v.toFixed(4)).join(',')}>
      <figcaption>{title}</figcaption>
      {values.map((v, i) => (
        <div className="prob-row" key={i}>
          <span className="prob-name">{names[i]}</span>
          <svg width={160} height={12} aria-hidden="true">
            <rect
              x={0}
              y={1}
              width={160 * Math.max(0, Math.min(1, v))}
              height={10}
              fill={CLASS_COLORS[i % CLASS_COLORS.length]}
            />
          </svg>
          <span className="prob-value">{fmt(v)}</span>
        </div>
      ))}
    </figure>
  );
}

/** Signed bars around zero: the Shapley value of each modality for one class. */
export function ShapleyBars({
  shapley,
  cls,
  className,
}: {
  shapley: Record<'text' | 'audio' | 'vision', number[]>;
  cls: number;
  className: string;
}) {
  const entries = (['text', 'audio', 'vision'] as const).map((m) => [m, shapley[m][cls]] as const);
  const max = Math.max(1e-6, ...entries.map(([, v]) => Math.abs(v)));
  const half = 90;
  return (
    <figure className="shapley" data-testid="shapley">
      <figcaption>
        Shapley contribution to P({className}) <span className="muted">(exact, 8 coalitions)</span>
      </figcaption>
      {entries.map(([m, v]) => (
        <div className="prob-row" key={m} data-testid={`shapley-${m}`} data-value={v.toFixed(6)}>
          <span className="prob-name">{m}</span>
          <svg width={2 * half} height={12} aria-hidden="true">
            <line x1={half} x2={half} y1={0} y2={12} stroke="#aab" />
            <rect
              x={v >= 0 ? half : half - (half * Math.abs(v)) / max}
              y={1}
              width={(half * Math.abs(v)) / max}
              height={10}
              fill={v >= 0 ? '#27ae60' : '#c0392b'}
            />
          </svg>
          <span className="prob-value">{(v >= 0 ? '+' : '') + fmt(v, 4)}</span>
        </div>
      ))}
    </figure>
  );
}

/** The transcript as token chips: bias words highlighted, dropped tokens struck through, the selected one outlined. */
export function TokenChips({
  tokens,
  testId,
  onSelect,
  selected,
  names,
}: {
  tokens: {
    id: number;
    token: string;
    special: boolean;
    bias: boolean;
    dropped?: boolean;
  }[];
  testId: string;
  onSelect?: (i: number) => void;
  selected?: number | null;
  names?: Record<number, string>;
}) {
  return (
    <p className="tokens" data-testid={testId}>
      {tokens.map((t, i) => {
        const cls = [
          'token',
          t.bias ? 'bias' : '',
          t.special ? 'special' : '',
          t.dropped ? 'dropped' : '',
          selected === i ? 'selected' : '',
        ]
          .filter(Boolean)
          .join(' ');
        const label = t.token.startsWith('#') && names?.[t.id] ? names[t.id] : t.token;
        return onSelect ? (
          <button key={i} type="button" className={cls} data-bias={t.bias ? '1' : '0'} onClick={() => onSelect(i)}>
            {label}
          </button>
        ) : (
          <span
            key={i}
            className={cls}
            data-bias={t.bias ? '1' : '0'}
            title={t.dropped ? 'dropped by the missing view ([UNK])' : t.bias ? 'bias-dictionary word' : undefined}
          >
            {label}
          </span>
        );
      })}
    </p>
  );
}

/** A matrix as a heatmap; rows and columns labelled; values in data-values. Long rows are averaged into at most `maxCols` bins. */
export function Heatmap({
  rows,
  rowLabels,
  colLabel,
  title,
  testId,
  maxCols = 120,
  cell = 14,
}: {
  rows: number[][];
  rowLabels: string[];
  colLabel: string;
  title: string;
  testId: string;
  maxCols?: number;
  cell?: number;
}) {
  const n = rows[0]?.length ?? 0;
  const bins = Math.max(1, Math.min(maxCols, n));
  const per = n / bins;
  const binned = rows.map((r) =>
    Array.from({ length: bins }, (_, b) => {
      const lo = Math.floor(b * per);
      const hi = Math.max(lo + 1, Math.floor((b + 1) * per));
      let s = 0;
      for (let k = lo; k < hi; k++) s += r[k] ?? 0;
      return { value: s, lo, hi };
    }),
  );
  const values = binned.flat().map((c) => c.value);
  const lo = Math.min(0, ...values);
  const hi = Math.max(lo + 1e-9, ...values);
  const w = Math.max(4, Math.floor(480 / bins));
  const left = 70;
  const legendWidth = 160;
  const gradientId = `${testId}-scale`;
  return (
    <figure className="heatmap" data-testid={testId} data-rows={rows.length} data-cols={n}>
      <figcaption>
        {title}{' '}
        <span className="muted">
          ({rows.length} x {n}
          {bins < n ? `, ${bins} bins` : ''}; {colLabel}; hover a cell for its value)
        </span>
      </figcaption>
      <svg width={left + bins * w} height={rows.length * cell + 4} role="img" aria-label={title}>
        {binned.map((r, i) => (
          <g key={i}>
            <text x={left - 4} y={i * cell + cell - 1} textAnchor="end" className="tick">
              {rowLabels[i]}
            </text>
            {r.map((c, j) => (
              <rect
                key={j}
                x={left + j * w}
                y={i * cell}
                width={w}
                height={cell}
                fill={viridis((c.value - lo) / (hi - lo))}
                data-value={c.value}
              >
                <title>
                  {rowLabels[i]}, {colLabel.split(' ')[0]} {c.hi - c.lo > 1 ? `${c.lo}-${c.hi - 1}` : c.lo}:{' '}
                  {fmt(c.value, 4)}
                </title>
              </rect>
            ))}
          </g>
        ))}
      </svg>
      <svg width={left + legendWidth + 60} height={26} className="heatmap-legend" data-testid={`${testId}-legend`}>
        <defs>
          <linearGradient id={gradientId}>
            {VIRIDIS.map((_, k) => (
              <stop
                key={k}
                offset={`${(100 * k) / (VIRIDIS.length - 1)}%`}
                stopColor={viridis(k / (VIRIDIS.length - 1))}
              />
            ))}
          </linearGradient>
        </defs>
        <rect x={left} y={2} width={legendWidth} height={10} fill={`url(#${gradientId})`} />
        <text x={left - 4} y={11} textAnchor="end" className="tick">
          {fmt(lo, 3)}
        </text>
        <text x={left + legendWidth + 4} y={11} className="tick">
          {fmt(hi, 3)}
        </text>
        <text x={left} y={24} className="tick">
          low
        </text>
        <text x={left + legendWidth} y={24} textAnchor="end" className="tick">
          high
        </text>
      </svg>
    </figure>
  );
}

/** viridis (matplotlib's perceptually uniform, colour-blind-safe scale) at 9 stops, interpolated in sRGB */
const VIRIDIS: [number, number, number][] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** the viridis colour of t in [0, 1] (clamped; NaN is drawn as the low end) */
export function viridis(t: number): string {
  const x = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1) : 0;
  const k = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - k;
  const [a, b] = [VIRIDIS[k], VIRIDIS[k + 1]];
  const c = a.map((v, i) => Math.round(v + f * (b[i] - v)));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Rows truth, columns prediction. */
export function Confusion({
  matrix,
  names,
  title,
  testId,
}: {
  matrix: number[][];
  names: string[];
  title: string;
  testId: string;
}) {
  const max = Math.max(1, ...matrix.flat());
  return (
    <table className="confusion" data-testid={testId} data-values={matrix.map((r) => r.join(' ')).join(';')}>
      <caption>{title}</caption>
      <thead>
        <tr>
          <th>truth \ pred</th>
          {names.map((n) => (
            <th key={n}>{n.slice(0, 4)}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {matrix.map((r, i) => (
          <tr key={i}>
            <th>{names[i].slice(0, 4)}</th>
            {r.map((v, j) => (
              <td key={j} style={{ background: `rgba(46, 134, 193, ${(0.6 * v) / max})` }}>
                {v}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
