/**
 * The benchmark's plot as SVG text: achieved throughput and ingest → decision latency against offered rate.
 *
 * Written by hand rather than with a plotting library: the chart is two panels of polylines, no plotting library
 * is among the project's dependencies, and SVG is plain text that diffs and renders on any forge. Pure functions,
 * unit-tested (scales, ticks, paths).
 */

/** A map from a numeric domain onto pixels. */
export type Scale = (value: number) => number;

/** Linear map of [d0, d1] onto [r0, r1] (r1 < r0 for a y axis, pixels growing downwards). */
export function linearScale([d0, d1]: readonly [number, number], [r0, r1]: readonly [number, number]): Scale {
  const span = d1 - d0;
  return (value) => (span === 0 ? r0 : r0 + ((value - d0) / span) * (r1 - r0));
}

/** Log-10 map of [d0, d1] (both > 0) onto [r0, r1]; latencies span three decades at saturation. */
export function logScale([d0, d1]: readonly [number, number], range: readonly [number, number]): Scale {
  const linear = linearScale([Math.log10(d0), Math.log10(d1)], range);
  return (value) => linear(Math.log10(Math.max(value, d0)));
}

/** Round tick values 0 … ≥ max: steps of 1, 2 or 5 × 10ⁿ, about `count` of them. */
export function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = 0; t < max + step; t += step) ticks.push(Math.round(t * 1e9) / 1e9);
  return ticks;
}

/** Powers of ten covering [min, max] (min > 0): 10, 100, 1000 … */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) ticks.push(10 ** e);
  return ticks;
}

/** An SVG path through the points in order (`M x y L x y …`), coordinates to 0.1 px; empty for no points. */
export function polylinePath(points: ReadonlyArray<readonly [number, number]>, x: Scale, y: Scale): string {
  return points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${x(px).toFixed(1)} ${y(py).toFixed(1)}`).join(' ');
}

export interface RatePoint {
  readonly rateTps: number;
  readonly achievedTps: number;
  readonly decisionP50Ms: number;
  readonly decisionP99Ms: number;
  readonly alertP99Ms: number;
}

export interface ChartInput {
  readonly points: readonly RatePoint[];
  /** Shown under the title: command, machine, date, load average. */
  readonly caption: string;
  /** End-to-end throughput of the saturated run, drawn as a horizontal reference. */
  readonly endToEndTps?: number;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const WIDTH = 720;
const PANEL_HEIGHT = 240;
const MARGIN = { left: 70, right: 150, top: 60, gap: 70, bottom: 50 };

/** The whole SVG document: throughput panel above, latency panel (log scale) below. */
export function renderChart(input: ChartInput): string {
  const points = [...input.points].sort((a, b) => a.rateTps - b.rateTps);
  const maxRate = Math.max(1, ...points.map((p) => p.rateTps));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const xTicks = linearTicks(maxRate);
  const xMax = xTicks.at(-1)!;
  const xs = linearScale([0, xMax], [MARGIN.left, MARGIN.left + plotWidth]);

  const top1 = MARGIN.top;
  const bottom1 = top1 + PANEL_HEIGHT;
  const tpsTicks = linearTicks(Math.max(xMax, input.endToEndTps ?? 0, ...points.map((p) => p.achievedTps)));
  const y1 = linearScale([0, tpsTicks.at(-1)!], [bottom1, top1]);

  const top2 = bottom1 + MARGIN.gap;
  const bottom2 = top2 + PANEL_HEIGHT;
  const latencies = points.flatMap((p) => [p.decisionP50Ms, p.decisionP99Ms, p.alertP99Ms]).filter((v) => v > 0);
  const latTicks = logTicks(Math.min(10, ...latencies), Math.max(100, ...latencies));
  const y2 = logScale([latTicks[0]!, latTicks.at(-1)!], [bottom2, top2]);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${bottom2 + MARGIN.bottom}" viewBox="0 0 ${WIDTH} ${bottom2 + MARGIN.bottom}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">Vigil embedded default: throughput and latency against offered rate</text>`,
    `<text x="${MARGIN.left}" y="40" fill="#555">${escapeXml(input.caption)}</text>`,
  );
  const axes = (top: number, bottom: number, yTicks: readonly number[], y: Scale, label: string): void => {
    for (const t of yTicks)
      out.push(
        `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`,
        `<text x="${MARGIN.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t.toLocaleString('en-US')}</text>`,
      );
    for (const t of xTicks)
      out.push(
        `<line x1="${xs(t).toFixed(1)}" x2="${xs(t).toFixed(1)}" y1="${bottom}" y2="${bottom + 4}" stroke="#333"/>`,
        `<text x="${xs(t).toFixed(1)}" y="${bottom + 17}" text-anchor="middle">${t.toLocaleString('en-US')}</text>`,
      );
    out.push(
      `<rect x="${MARGIN.left}" y="${top}" width="${plotWidth}" height="${bottom - top}" fill="none" stroke="#333"/>`,
      `<text x="${MARGIN.left + plotWidth / 2}" y="${bottom + 34}" text-anchor="middle">offered rate (tx/s)</text>`,
      `<text transform="translate(16 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${label}</text>`,
    );
  };
  const series = (data: ReadonlyArray<readonly [number, number]>, y: Scale, colour: string, dash = ''): void => {
    out.push(
      `<path d="${polylinePath(data, xs, y)}" fill="none" stroke="${colour}" stroke-width="2"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}/>`,
    );
    for (const [px, py] of data)
      out.push(`<circle cx="${xs(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${colour}"/>`);
  };
  const legend = (top: number, entries: ReadonlyArray<readonly [string, string, string]>): void =>
    entries.forEach(([text, colour, dash], i) =>
      out.push(
        `<line x1="${MARGIN.left + plotWidth + 12}" x2="${MARGIN.left + plotWidth + 36}" y1="${top + 14 + i * 18}" y2="${top + 14 + i * 18}" stroke="${colour}" stroke-width="2"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}/>`,
        `<text x="${MARGIN.left + plotWidth + 40}" y="${top + 18 + i * 18}">${escapeXml(text)}</text>`,
      ),
    );

  axes(top1, bottom1, tpsTicks, y1, 'throughput (tx/s)');
  series(
    [
      [0, 0],
      [xMax, xMax],
    ],
    y1,
    '#999',
    '4 4',
  );
  series(
    points.map((p) => [p.rateTps, p.achievedTps] as const),
    y1,
    '#1f77b4',
  );
  const legend1: Array<readonly [string, string, string]> = [
    ['achieved', '#1f77b4', ''],
    ['offered (ideal)', '#999', '4 4'],
  ];
  if (input.endToEndTps !== undefined) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y1(input.endToEndTps).toFixed(1)}" y2="${y1(input.endToEndTps).toFixed(1)}" stroke="#d62728" stroke-dasharray="2 3"/>`,
    );
    legend1.push(['end to end, burst', '#d62728', '2 3']);
  }
  legend(top1, legend1);

  axes(top2, bottom2, latTicks, y2, 'latency (ms, log scale)');
  series(
    points.map((p) => [p.rateTps, p.decisionP50Ms] as const),
    y2,
    '#2ca02c',
  );
  series(
    points.map((p) => [p.rateTps, p.decisionP99Ms] as const),
    y2,
    '#ff7f0e',
  );
  series(
    points.map((p) => [p.rateTps, p.alertP99Ms] as const),
    y2,
    '#9467bd',
    '6 3',
  );
  legend(top2, [
    ['decision p50', '#2ca02c', ''],
    ['decision p99', '#ff7f0e', ''],
    ['alert p99', '#9467bd', '6 3'],
  ]);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
