/**
 * The machine-readable result of one `npm run bench` (`--json FILE`) and how it is printed. Pure: built from the
 * measured figures, so the arithmetic (CPU per stage, ratios) is unit-tested.
 */
import type { CeilingResult } from './ceiling.js';
import type { LoadFigures, ThroughputRun } from './load.js';
import { type Category, STAGES, type Stage } from './profile-attribution.js';
import { CEILING_STAGES, type CeilingStage } from './ceiling-stages.js';

/** Non-stage categories of the JavaScript thread's busy time. */
const OVERHEAD = ['shared', 'bench', 'gc', 'program', 'other'] as const satisfies readonly Category[];

export interface FrameCost {
  readonly frame: string;
  readonly usPerTx: number;
}

export interface BenchReport {
  readonly command: string;
  readonly options: Readonly<Record<string, string | number | readonly number[]>>;
  readonly date: string;
  readonly machine: string;
  readonly node: string;
  /** 1, 5 and 15 minute load averages when the run started and when it ended (the machine may be shared). */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  /** Transactions of the (unprofiled) throughput run. */
  readonly transactions: number;
  readonly acceptedTps: number;
  readonly endToEndTps: number;
  /** Pipeline process CPU (user + system, all threads) per transaction, unprofiled run. */
  readonly cpuUsPerTx: number;
  /** Of the profiled run: the JavaScript thread's CPU, and the rest (chDB's threads, libuv's fsyncs) per tx. */
  readonly jsThreadUsPerTx: number;
  readonly otherThreadsUsPerTx: number;
  /** "/proc" when the JS thread's CPU was read from the kernel, "samples" when only the profile was available. */
  readonly jsThreadMeasuredBy: '/proc' | 'samples';
  readonly otherThreads: ReadonlyArray<{ readonly name: string; readonly usPerTx: number }>;
  /** Per stage: the JavaScript thread's CPU spent in it per transaction, and its top self-time frames. */
  readonly stages: Readonly<Record<Stage, { readonly cpuUsPerTx: number; readonly topFrames: readonly FrameCost[] }>>;
  /** JS-thread CPU per tx outside any stage (shared kernel, the bench's own consumer, GC, native, other). */
  readonly unattributed: Readonly<Record<(typeof OVERHEAD)[number], number>>;
  /** Share of the profiled window the JavaScript thread sat idle. */
  readonly jsThreadIdleShare: number;
  readonly profiler: {
    readonly sampleIntervalUs: number;
    readonly offCpuUsPerTx: number;
    readonly onCpuUsPerTx: number;
    /** (on − off) / off, %: the profiler's cost, within the noise of two runs on a shared machine. */
    readonly cpuOverheadPct: number;
    readonly offEndToEndTps: number;
    readonly onEndToEndTps: number;
  };
  readonly ceilingTps: number;
  readonly ceiling: {
    readonly transactions: number;
    readonly stages: Readonly<Record<CeilingStage, { readonly usPerTx: number }>>;
    readonly rowBytesPerTx: number;
  };
  readonly endToEndOverCeiling: number;
  readonly latency: ReadonlyArray<{
    readonly rateTps: number;
    readonly seconds: number;
    readonly sent: number;
    readonly achievedTps: number;
    readonly decisionP50Ms: number;
    readonly decisionP90Ms: number;
    readonly decisionP99Ms: number;
    readonly alertP50Ms: number;
    readonly alertP99Ms: number;
  }>;
  readonly sync: ReadonlyArray<{
    readonly rateTps: number;
    readonly achievedTps: number;
    readonly decided: number;
    readonly pastDeadline: number;
    readonly answerP50Ms: number;
    readonly answerP99Ms: number;
  }>;
}

export interface ReportContext {
  readonly command: string;
  readonly options: BenchReport['options'];
  readonly date: string;
  readonly machine: string;
  readonly node: string;
  readonly loadAverage: BenchReport['loadAverage'];
  readonly sampleIntervalUs: number;
}

/** `{ key: f(key) }` for every key. */
function recordOf<K extends string, V>(keys: readonly K[], f: (key: K) => V): Record<K, V> {
  const record = {} as Record<K, V>;
  for (const key of keys) record[key] = f(key);
  return record;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * Builds the report from the two throughput runs (unprofiled first, profiled second), the latency and sync runs and
 * the ceiling. A stage's CPU is the JavaScript thread's measured CPU (from /proc, else its sampled busy time) split
 * in proportion to the stage's share of the thread's busy samples.
 * @throws Error when the figures lack the CPU readings or the profiled run (the pipeline was not in this process).
 */
export function buildReport(figures: LoadFigures, ceiling: CeilingResult, context: ReportContext): BenchReport {
  const off = figures.throughput.find((r) => !r.profiled);
  const on = figures.throughput.find((r) => r.profiled);
  if (off?.cpu === undefined || on?.cpu === undefined || on.attribution === undefined)
    throw new Error('the report needs an unprofiled and a profiled throughput run with CPU readings');
  const attribution = on.attribution;
  const sampledBusy = Object.entries(attribution.us)
    .filter(([c]) => c !== 'idle')
    .reduce((a, [, us]) => a + us, 0);
  const sampledAll = sampledBusy + attribution.us.idle;
  const jsThreadUs = on.cpu.mainThreadUs ?? sampledBusy;
  const perTx = (run: ThroughputRun, us: number): number => round1(us / run.accepted);
  // Sampled (wall) time of a category → CPU µs per transaction.
  const share = (sampledUs: number): number =>
    perTx(on, sampledBusy === 0 ? 0 : (jsThreadUs * sampledUs) / sampledBusy);
  const stages = recordOf(STAGES, (s) => ({
    cpuUsPerTx: share(attribution.us[s]),
    topFrames: attribution.topFrames[s].map((f) => ({ frame: f.frame, usPerTx: share(f.selfUs) })),
  }));
  const unattributed = Object.fromEntries(
    OVERHEAD.map((c) => [c, share(attribution.us[c])]),
  ) as BenchReport['unattributed'];

  const ceilingUs = CEILING_STAGES.reduce((a, s) => a + ceiling.us[s], 0);
  const ceilingTps = Math.round(ceiling.transactions / (ceilingUs / 1e6));
  const offCpu = off.cpu.processUs / off.accepted;
  const onCpu = on.cpu.processUs / on.accepted;
  const { sampleIntervalUs, ...meta } = context;
  return {
    ...meta,
    transactions: off.transactions,
    acceptedTps: off.acceptedTps,
    endToEndTps: off.endToEndTps,
    cpuUsPerTx: round1(offCpu),
    jsThreadUsPerTx: perTx(on, jsThreadUs),
    otherThreadsUsPerTx: perTx(on, on.cpu.processUs - jsThreadUs),
    jsThreadMeasuredBy: on.cpu.mainThreadUs === undefined ? 'samples' : '/proc',
    otherThreads: on.cpu.otherThreads.map((t) => ({ name: t.name, usPerTx: perTx(on, t.us) })),
    stages,
    unattributed,
    jsThreadIdleShare: sampledAll === 0 ? 0 : Math.round((1000 * attribution.us.idle) / sampledAll) / 1000,
    profiler: {
      sampleIntervalUs,
      offCpuUsPerTx: round1(offCpu),
      onCpuUsPerTx: round1(onCpu),
      cpuOverheadPct: round1((100 * (onCpu - offCpu)) / offCpu),
      offEndToEndTps: off.endToEndTps,
      onEndToEndTps: on.endToEndTps,
    },
    ceilingTps,
    ceiling: {
      transactions: ceiling.transactions,
      stages: Object.fromEntries(
        CEILING_STAGES.map((s) => [s, { usPerTx: round1(ceiling.us[s] / ceiling.transactions) }]),
      ) as BenchReport['ceiling']['stages'],
      rowBytesPerTx: Math.round(ceiling.rowBytes / ceiling.transactions),
    },
    endToEndOverCeiling: Math.round((1000 * off.endToEndTps) / ceilingTps) / 1000,
    latency: figures.latency.map((r) => ({
      rateTps: r.rateTps,
      seconds: r.seconds,
      sent: r.sent,
      achievedTps: r.achievedTps,
      decisionP50Ms: r.decision.p50Ms,
      decisionP90Ms: r.decision.p90Ms,
      decisionP99Ms: r.decision.p99Ms,
      alertP50Ms: r.alert.p50Ms,
      alertP99Ms: r.alert.p99Ms,
    })),
    sync: figures.sync.map((r) => ({
      rateTps: r.rateTps,
      achievedTps: r.achievedTps,
      decided: r.decided,
      pastDeadline: r.pastDeadline,
      answerP50Ms: r.answer.p50Ms,
      answerP99Ms: r.answer.p99Ms,
    })),
  };
}

/** The paths of the fields the issue requires that `value` lacks or holds as non-numbers; empty when complete. */
export function reportProblems(value: unknown): string[] {
  const problems: string[] = [];
  const at = (path: string): unknown =>
    path
      .split('.')
      .reduce<unknown>(
        (v, key) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined),
        value,
      );
  const numeric = (path: string): void => {
    if (typeof at(path) !== 'number') problems.push(path);
  };
  for (const path of ['acceptedTps', 'endToEndTps', 'cpuUsPerTx', 'ceilingTps', 'endToEndOverCeiling']) numeric(path);
  for (const stage of ['ingest', 'scoring', 'ledger-sink', 'dashboards']) numeric(`stages.${stage}.cpuUsPerTx`);
  const latency = at('latency');
  if (!Array.isArray(latency) || latency.length === 0) problems.push('latency');
  else
    latency.forEach((_, i) => {
      for (const field of ['rateTps', 'achievedTps', 'decisionP50Ms', 'decisionP99Ms', 'alertP99Ms'])
        numeric(`latency.${i}.${field}`);
    });
  for (const path of ['date', 'machine', 'node', 'command']) if (typeof at(path) !== 'string') problems.push(path);
  return problems;
}

const n = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : String(x));

/** The report as the lines `npm run bench` prints after the phases: cost per stage, frames, ceiling, targets. */
export function formatReport(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(
    `CPU per transaction (profiled run; the load generator is a separate process and not counted):`,
    `  pipeline process, all threads: ${r.profiler.onCpuUsPerTx} µs/tx (unprofiled run: ${r.cpuUsPerTx} µs/tx; profiler cost ${r.profiler.cpuOverheadPct} % CPU, end to end ${n(r.profiler.offEndToEndTps)} → ${n(r.profiler.onEndToEndTps)} tx/s)`,
    `  JavaScript thread: ${r.jsThreadUsPerTx} µs/tx (measured by ${r.jsThreadMeasuredBy}; idle ${Math.round(r.jsThreadIdleShare * 100)} % of the window)`,
    `  other threads (chDB's pools; 'node' = V8's background GC and compiler and libuv's pool, fsyncs included): ${r.otherThreadsUsPerTx} µs/tx${
      r.otherThreads.length === 0
        ? ''
        : ` — ${r.otherThreads
            .slice(0, 6)
            .map((t) => `${t.name} ${t.usPerTx}`)
            .join(', ')}`
    }`,
  );
  for (const stage of STAGES)
    lines.push(`  ${stage.padEnd(12)} ${String(r.stages[stage].cpuUsPerTx).padStart(7)} µs/tx`);
  for (const [name, us] of Object.entries(r.unattributed))
    lines.push(`  (${name})${' '.repeat(Math.max(1, 10 - name.length))} ${String(us).padStart(7)} µs/tx`);
  lines.push('top self-time frames per stage (µs/tx):');
  for (const stage of STAGES) {
    if (r.stages[stage].topFrames.length === 0) continue;
    lines.push(`  ${stage}:`);
    for (const f of r.stages[stage].topFrames) lines.push(`    ${String(f.usPerTx).padStart(7)}  ${f.frame}`);
  }
  lines.push(
    `ceiling (same ${n(r.ceiling.transactions)} transactions, stage work only, one thread, no I/O; per CPU second): ${n(r.ceilingTps)} tx/s — ` +
      CEILING_STAGES.map((s) => `${s} ${r.ceiling.stages[s].usPerTx} µs/tx`).join(', ') +
      `; ${n(r.ceiling.rowBytesPerTx)} B of ClickHouse rows per tx`,
    `end to end ÷ ceiling: ${r.endToEndOverCeiling}`,
    `against issue 9's targets: end to end ${n(r.endToEndTps)} tx/s of ≥ 20,000 (${(r.endToEndTps / 20_000).toFixed(2)}×); CPU ${r.cpuUsPerTx} µs/tx of ≤ 100 (${(r.cpuUsPerTx / 100).toFixed(1)}×)` +
      r.latency
        .filter((l) => l.rateTps === 1000 || l.rateTps === 5000)
        .map((l) => `; p99 at ${n(l.rateTps)} tx/s ${n(l.decisionP99Ms)} ms of < ${l.rateTps === 1000 ? 50 : 100} ms`)
        .join(''),
  );
  return lines.join('\n') + '\n';
}
