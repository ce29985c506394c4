/**
 * `npm run bench:plot -- --json FILE [--out docs/bench.svg]`: draws the figures `npm run bench -- --json FILE`
 * wrote — achieved throughput and ingest → decision p50/p99 (and alert p99) against offered rate — as SVG.
 * Refuses a file that lacks the figures (bench/report.ts `reportProblems`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type BenchReport, reportProblems } from './report.js';
import { renderChart } from './svg-chart.js';

const { values } = parseArgs({
  options: { json: { type: 'string' }, out: { type: 'string', default: 'docs/bench.svg' } },
  strict: true,
});
if (values.json === undefined) {
  console.error('usage: npm run bench:plot -- --json FILE [--out FILE.svg]');
  process.exit(2);
}
const report = JSON.parse(readFileSync(values.json, 'utf8')) as BenchReport;
const problems = reportProblems(report);
if (problems.length > 0) {
  console.error(`${values.json} is not a bench report: missing or not numbers: ${problems.join(', ')}`);
  process.exit(1);
}
const caption = `${report.date.slice(0, 10)} · ${report.machine} · Node ${report.node} · load average ${report.loadAverage.start.join(' ')} · ${report.options['rateSeconds'] as number} s per rate`;
writeFileSync(values.out, renderChart({ points: report.latency, caption, endToEndTps: report.endToEndTps }));
console.log(`wrote ${values.out} (${report.latency.length} offered rates)`);
