/**
 * Metrics over time as SVG line charts (the sidebar's version of core/monitoring/timeline.py):
 * a monitor's executions as one series per drift column, model-quality and bias metric.
 */
import React, { useLayoutEffect, useRef, useState } from 'react';

import { IMonitorExecution } from './tokens';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export interface IPoint {
  execution: number;
  at: string;
  value: number;
  flagged: boolean;
}

export interface ISeries {
  key: string;
  section: 'drift' | 'quality' | 'bias';
  name: string;
  points: IPoint[];
  threshold: number | null;
  measure: string | null;
}

const SECTION_TITLE = { drift: 'drift', quality: 'quality', bias: 'bias' };

const FIRST: { [monitorType: string]: ISeries['section'] } = {
  data_quality: 'drift',
  model_quality: 'quality',
  bias: 'bias'
};

/**
 * One series per drift column, quality and bias metric, points oldest first (`executions` newest
 * first, as the service lists them); the monitor type's own metrics first, flagged series first.
 */
export function metricSeries(
  executions: IMonitorExecution[],
  monitorType = 'data_quality'
): ISeries[] {
  const out = new Map<string, ISeries>();
  for (const e of [...executions].reverse()) {
    for (const section of ['drift', 'quality', 'bias'] as const) {
      const metrics = e.metrics?.[section] ?? {};
      for (const [name, m] of Object.entries(metrics)) {
        if (m === null || typeof m.value !== 'number' || !Number.isFinite(m.value)) {
          continue;
        }
        const key = `${section}:${name}`;
        let s = out.get(key);
        if (!s) {
          s = { key, section, name, points: [], threshold: null, measure: null };
          out.set(key, s);
        }
        s.points.push({
          execution: e.id,
          at: e.created_at,
          value: m.value,
          flagged: !!m.drifted
        });
        s.measure = m.measure ?? s.measure;
        if (typeof m.threshold === 'number') {
          s.threshold = m.threshold;
        }
      }
    }
  }
  const order = { drift: 1, quality: 2, bias: 3 };
  order[FIRST[monitorType] ?? 'drift'] = 0;
  return [...out.values()].sort(
    (a, b) =>
      order[a.section] - order[b.section] ||
      Number(b.points.some(p => p.flagged)) - Number(a.points.some(p => p.flagged)) ||
      a.name.localeCompare(b.name)
  );
}

/** A number in at most `digits` significant digits (tiny p-values in exponent form). */
export function num(v: number, digits = 3): string {
  if (v !== 0 && Math.abs(v) < 1e-3) {
    return v.toExponential(0);
  }
  return String(Number(v.toPrecision(digits)));
}

/** A time as "Nov 29, 11:05 PM" in the browser's locale and time zone. */
export function shortTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return '';
  }
  return d.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit'
  });
}

/** The width of an element, following resizes (the sidebar is resizable). */
function useWidth(ref: React.RefObject<HTMLElement>, fallback: number): number {
  const [width, setWidth] = useState(fallback);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) {
      return;
    }
    const measure = () => {
      const w = Math.floor(el.getBoundingClientRect().width);
      if (w > 0) {
        setWidth(w);
      }
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return width;
}

const CHART_HEIGHT = 92;

/**
 * One series as an SVG line chart as wide as the panel: x the run order, y the value; the
 * threshold dashed, flagged (drifted) points red; first and last run times below.
 */
export function MetricChart({ series }: { series: ISeries }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const width = Math.max(160, Math.min(useWidth(box, 280), 720));
  const height = CHART_HEIGHT;
  const { points, threshold } = series;
  const values = points.map(p => p.value);
  if (threshold !== null) {
    values.push(threshold);
  }
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) {
    const d = Math.abs(hi) * 0.1 || 1;
    hi += d;
    lo -= d;
  }
  const left = 42;
  const right = 8;
  const top = 8;
  const bottom = 16;
  const n = points.length;
  const x = (i: number) =>
    left + (width - left - right) * (n > 1 ? i / (n - 1) : 0.5);
  const y = (v: number) =>
    top + (height - top - bottom) * (1 - (v - lo) / (hi - lo));
  const flagged = points.some(p => p.flagged);
  const latest = points[points.length - 1];
  const measure =
    series.measure === 'p_value'
      ? 'p-value, drifts below the threshold'
      : series.measure === 'distance'
        ? 'distance, drifts above the threshold'
        : '';
  return (
    <figure
      className={'jp-mlgov-chart' + (flagged ? ' jp-mlgov-chart-flagged' : '')}
      data-series={series.key}
      ref={box}
    >
      <figcaption className="jp-mlgov-chartTitle">
        <span className="jp-mlgov-chartName" title={series.key}>
          {SECTION_TITLE[series.section]} · {series.name}
        </span>
        <span className="jp-mlgov-stats" title={measure}>
          {series.measure === 'p_value' ? 'p ' : ''}
          {num(latest.value)}
          {threshold !== null && ` / ${num(threshold)}`}
        </span>
      </figcaption>
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${series.key} over ${plural(n, 'run')}${measure ? ` (${measure})` : ''}`}
      >
        <line className="jp-mlgov-axis" x1={left} x2={width - right} y1={height - bottom} y2={height - bottom} />
        <text className="jp-mlgov-tick" x={left - 4} y={top + 4} textAnchor="end">
          {num(hi, 2)}
        </text>
        <text className="jp-mlgov-tick" x={left - 4} y={height - bottom} textAnchor="end">
          {num(lo, 2)}
        </text>
        {threshold !== null && (
          <line
            className="jp-mlgov-threshold"
            x1={left}
            x2={width - right}
            y1={y(threshold)}
            y2={y(threshold)}
            strokeDasharray="4 3"
          >
            <title>threshold {num(threshold)}</title>
          </line>
        )}
        <polyline
          className="jp-mlgov-series"
          fill="none"
          points={points.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}
        />
        {points.map((p, i) => (
          <circle
            key={p.execution}
            className={p.flagged ? 'jp-mlgov-point jp-mlgov-point-flagged' : 'jp-mlgov-point'}
            cx={x(i)}
            cy={y(p.value)}
            r={p.flagged ? 3.5 : 2.5}
          >
            <title>
              #{p.execution} {shortTime(p.at)}: {num(p.value)}
              {p.flagged ? ' (drifted)' : ''}
            </title>
          </circle>
        ))}
        <text className="jp-mlgov-tick" x={left} y={height - 3} textAnchor="start">
          {shortTime(points[0].at)}
        </text>
        {n > 1 && (
          <text className="jp-mlgov-tick" x={width - right} y={height - 3} textAnchor="end">
            {shortTime(latest.at)}
          </text>
        )}
      </svg>
    </figure>
  );
}
