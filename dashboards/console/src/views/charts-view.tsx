import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  DoughnutController,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';
import type { LiveStatsMessage } from '../../../../schemas/api.js';
import type { ConsoleContext } from '../context.js';
import { timeOf } from '../format.js';

Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  DoughnutController,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
);

// Colours with at least 4.5:1 against the panel, in the page's palette; animation off (a 3 a.m. console is calm).
const TEXT = '#e6edf3';
const GRID = '#2a343f';
const COLOURS = { APPROVE: '#4cc38a', REVIEW: '#f5b942', DECLINE: '#ff6b6b', line: '#4ea1ff' } as const;
Chart.defaults.color = TEXT;
Chart.defaults.borderColor = GRID;
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

/** One chart.js chart on a canvas, updated with each new `config`'s data. */
function LiveChart({ id, label, config }: { id: string; label: string; config: ChartConfiguration }) {
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const chart = useRef<Chart | undefined>(undefined);
  useEffect(() => {
    chart.current = new Chart(canvas.current!, config);
    return () => chart.current?.destroy();
    // Created once, from the first config; later configs update it in place (below) without redrawing from scratch.
  }, []);
  useEffect(() => {
    const current = chart.current;
    if (current === undefined) return;
    current.data = config.data;
    current.update('none');
  }, [config]);
  return (
    <div class="chart-box">
      <canvas id={id} ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

const summaryOf = (stats: LiveStatsMessage | undefined): string => {
  if (stats === undefined) return 'Waiting for the first stats from the live stream…';
  const mix = stats.decisionMix;
  const l = stats.alertLatencyMs;
  return (
    `${stats.throughputPerSecond.toFixed(1)} tx/s; last ${stats.windowSeconds} s: ${mix.APPROVE} approved, ` +
    `${mix.REVIEW} reviewed, ${mix.DECLINE} declined; alert latency p50 ${l.p50 ?? '–'} ms, p95 ${l.p95 ?? '–'} ms.`
  );
};

/**
 * Live charts from the stats the WebSocket sends every few seconds: throughput, decision mix, score distribution
 * and ingest→alert latency. Each chart has a text equivalent (its label and the summary line).
 */
export function ChartsView({ ctx }: { ctx: ConsoleContext }) {
  const stats = ctx.stats;
  const latest = stats[stats.length - 1];
  const times = stats.map((s) => timeOf(s.atMs));
  const throughput: ChartConfiguration = {
    type: 'line',
    data: {
      labels: times,
      datasets: [
        {
          label: 'tx/s',
          data: stats.map((s) => s.throughputPerSecond),
          borderColor: COLOURS.line,
          pointRadius: 0,
          tension: 0.2,
        },
      ],
    },
    options: { scales: { y: { beginAtZero: true } }, plugins: { legend: { display: false } } },
  };
  const mix = latest?.decisionMix ?? { APPROVE: 0, REVIEW: 0, DECLINE: 0 };
  const decisions: ChartConfiguration = {
    type: 'doughnut',
    data: {
      labels: ['approve', 'review', 'decline'],
      datasets: [
        {
          data: [mix.APPROVE, mix.REVIEW, mix.DECLINE],
          backgroundColor: [COLOURS.APPROVE, COLOURS.REVIEW, COLOURS.DECLINE],
          borderColor: GRID,
        },
      ],
    },
    options: { plugins: { legend: { position: 'right' } } },
  };
  const counts = latest?.scoreHistogram.counts ?? [];
  const scores: ChartConfiguration = {
    type: 'bar',
    data: {
      labels: counts.map((_c, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`),
      datasets: [
        {
          label: 'transactions',
          data: [...counts],
          backgroundColor: counts.map((_c, i) => (i >= 8 ? COLOURS.DECLINE : i >= 5 ? COLOURS.REVIEW : COLOURS.line)),
        },
      ],
    },
    // Logarithmic would hide zeroes; square-root-like emphasis is left to the tooltip's exact counts.
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  };
  const latency: ChartConfiguration = {
    type: 'line',
    data: {
      labels: times,
      datasets: (['p50', 'p95', 'p99'] as const).map((p, i) => ({
        label: `${p} ms`,
        data: stats.map((s) => s.alertLatencyMs[p]),
        borderColor: [COLOURS.APPROVE, COLOURS.REVIEW, COLOURS.DECLINE][i],
        pointRadius: 0,
        spanGaps: true,
      })),
    },
    options: { scales: { y: { beginAtZero: true } } },
  };
  return (
    <section class="panel" aria-labelledby="charts-title">
      <div class="panel-head">
        <h2 id="charts-title">Live charts</h2>
      </div>
      <p class="meta" role="status" id="charts-summary">
        {summaryOf(latest)}
      </p>
      <div class="charts">
        <figure class="card">
          <figcaption>Throughput (tx/s)</figcaption>
          <LiveChart id="chart-throughput" label="Throughput over time, transactions per second" config={throughput} />
        </figure>
        <figure class="card">
          <figcaption>Decision mix (last {latest?.windowSeconds ?? 60} s)</figcaption>
          <LiveChart id="chart-decisions" label="Decision mix: approve, review, decline" config={decisions} />
        </figure>
        <figure class="card">
          <figcaption>Score distribution (last {latest?.windowSeconds ?? 60} s)</figcaption>
          <LiveChart id="chart-scores" label="Histogram of fraud scores in tenths" config={scores} />
        </figure>
        <figure class="card">
          <figcaption>Ingest → alert latency</figcaption>
          <LiveChart id="chart-latency" label="Alert latency percentiles over time, milliseconds" config={latency} />
        </figure>
      </div>
    </section>
  );
}
