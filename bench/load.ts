import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadJob, LoadResult } from './load-generator.js';

/** Runs the load generator as its own process; resolves with its result line. */
export function runLoad(job: LoadJob): Promise<LoadResult> {
  const script = fileURLToPath(new URL('./load-generator.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadResult) : reject(new Error(`load generator exited with ${code}`)))),
  );
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** `n=… p50=… p90=… p99=… max=…` of latencies in ms. */
export function summarize(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `n=${sorted.length} p50=${percentile(sorted, 50)} ms p90=${percentile(sorted, 90)} ms p99=${percentile(sorted, 99)} ms max=${sorted.at(-1)} ms`;
}
