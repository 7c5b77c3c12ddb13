/**
 * A small inline-SVG line chart: several named series over a shared x axis, round ticks, a legend.
 * No chart library. Tests read `data-series` / `data-n` on each line and `data-points` on the figure.
 */
import { CHART_COLORS, extent, linePath, niceTicks, tickLabel, type ChartSeries } from './chartScale';

export { CHART_COLORS, type ChartSeries } from './chartScale';

export interface LineChartProps {
  title: string;
  series: ChartSeries[];
  xLabel?: string;
  width?: number;
  height?: number;
  /** fixed y range (e.g. [0, 1] for accuracies); otherwise the data's */
  yDomain?: [number, number];
  /** integer x ticks only (epochs) */
  integerX?: boolean;
  testId?: string;
}

export function LineChart({
  title,
  series,
  xLabel,
  width = 380,
  height = 190,
  yDomain,
  integerX,
  testId,
}: LineChartProps) {
  const left = 44;
  const right = 8;
  const top = 8;
  const bottom = 28;
  const all = series.flatMap((s) => s.points);
  const xs = extent(all.map((p) => p.x)) ?? [0, 1];
  const ys = yDomain ?? extent(all.map((p) => p.y)) ?? [0, 1];
  const sx = (x: number) => left + ((width - left - right) * (x - xs[0])) / (xs[1] - xs[0]);
  const sy = (y: number) => height - bottom - ((height - top - bottom) * (y - ys[0])) / (ys[1] - ys[0]);
  const xTicks = niceTicks(xs[0], xs[1], 5).filter((t) => !integerX || Number.isInteger(t));
  const yTicks = niceTicks(ys[0], ys[1], 4);
  const colored = series.map((s, i) => ({ ...s, color: s.color ?? CHART_COLORS[i % CHART_COLORS.length] }));
  return (
    <figure className="line-chart" data-testid={testId} data-points={all.length}>
      <figcaption>{title}</figcaption>
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${title}: ${series.map((s) => `${s.name} (${s.points.length} points)`).join(', ')}`}
      >
        <rect
          x={left}
          y={top}
          width={width - left - right}
          height={height - top - bottom}
          fill="#fbfcfe"
          stroke="#e3e6ef"
        />
        {yTicks.map((t) => (
          <g key={`y${t}`}>
            <line x1={left} x2={width - right} y1={sy(t)} y2={sy(t)} stroke="#eef0f5" />
            <text x={left - 4} y={sy(t) + 3} textAnchor="end" className="tick">
              {tickLabel(t)}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <text key={`x${t}`} x={sx(t)} y={height - bottom + 12} textAnchor="middle" className="tick">
            {tickLabel(t)}
          </text>
        ))}
        {xLabel ? (
          <text x={(left + width - right) / 2} y={height - 3} textAnchor="middle" className="axis-label">
            {xLabel}
          </text>
        ) : null}
        {colored.map((s) => (
          <g key={s.name} data-series={s.name} data-n={s.points.length}>
            <path
              d={linePath(s.points, sx, sy)}
              fill="none"
              stroke={s.color}
              strokeWidth={1.6}
              strokeDasharray={s.dashed ? '5 3' : undefined}
            />
            {s.points.length <= 30
              ? s.points
                  .filter((p) => Number.isFinite(p.y))
                  .map((p, i) => <circle key={i} cx={sx(p.x)} cy={sy(p.y)} r={2.2} fill={s.color} />)
              : null}
          </g>
        ))}
      </svg>
      <ul className="legend">
        {colored.map((s) => (
          <li key={s.name}>
            <span className="swatch" style={{ background: s.color, opacity: s.dashed ? 0.6 : 1 }} />
            {s.name}
          </li>
        ))}
      </ul>
    </figure>
  );
}
