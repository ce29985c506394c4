/**
 * A progress line with rate and ETA for the command-line tools (bench, train, eval, simulate), drawn only when
 * stdout is a terminal: piped into a file or CI log, the tools print their results and nothing else. cli-progress
 * does the drawing; this is the one place its options live. Tooling only: no stage imports it.
 */
import cliProgress from 'cli-progress';

/** One task's progress; every method is a no-op when the stream is not a terminal. */
export interface Progress {
  /** Sets how much is done (same unit as the total). */
  update(done: number): void;
  /** Sets a new total when it becomes known or changes. */
  setTotal(total: number): void;
  /** Removes nothing: leaves the final line and moves to the next one. */
  stop(): void;
}

export interface ProgressOptions {
  /** What is counted, e.g. "tx" or "rows"; shown after the counts and in the rate. */
  readonly unit?: string;
  /** Where to draw; default process.stdout. Drawn only if it is a TTY. */
  readonly stream?: NodeJS.WriteStream;
}

const quiet: Progress = Object.freeze({ update: () => undefined, setTotal: () => undefined, stop: () => undefined });

/** A progress line `label [bar] 42% | 4200/10000 tx | 1,234 tx/s | ETA 5s` for a task of `total` units. */
export function startProgress(label: string, total: number, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stdout;
  if (stream.isTTY !== true) return quiet;
  const unit = options.unit ?? '';
  const bar = new cliProgress.SingleBar({
    stream,
    format: `${label} [{bar}] {percentage}% | {value}/{total}${unit === '' ? '' : ` ${unit}`} | {rate}${unit === '' ? '' : ` ${unit}`}/s | ETA {eta_formatted}`,
    barsize: 24,
    hideCursor: false,
    clearOnComplete: false,
    etaBuffer: 50,
    fps: 5,
  });
  const started = performance.now();
  const rate = (done: number): string =>
    Math.round(done / Math.max((performance.now() - started) / 1000, 1e-3)).toLocaleString('en-US');
  bar.start(Math.max(total, 1), 0, { rate: '0' });
  return {
    update: (done) => bar.update(done, { rate: rate(done) }),
    setTotal: (next) => bar.setTotal(Math.max(next, 1)),
    stop: () => bar.stop(),
  };
}
