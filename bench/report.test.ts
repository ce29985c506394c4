import type { LoadFigures } from './load.js';
import type { Attribution } from './profile-attribution.js';
import { buildReport, reportProblems } from './report.js';

const latency = { n: 10, p50Ms: 40, p90Ms: 90, p99Ms: 180, maxMs: 200 };

function zeros(): Attribution['us'] {
  return {
    ingest: 0,
    scoring: 0,
    'ledger-sink': 0,
    dashboards: 0,
    notifier: 0,
    shared: 0,
    bench: 0,
    gc: 0,
    program: 0,
    other: 0,
    idle: 0,
  };
}

const attribution: Attribution = {
  // 1 s of busy samples: ingest 300 ms, scoring 500 ms, ledger-sink 200 ms; 1 s idle.
  us: { ...zeros(), ingest: 300_000, scoring: 500_000, 'ledger-sink': 200_000, idle: 1_000_000 },
  topFrames: {
    ...Object.fromEntries(Object.keys(zeros()).map((k) => [k, []])),
    scoring: [{ frame: 'score scoring/app/scorer.ts:10', selfUs: 250_000 }],
  } as unknown as Attribution['topFrames'],
  samples: 2000,
};

const figures: LoadFigures = {
  slice: { seed: 1, streamStartMs: 0, skip: 0, count: 1000 },
  throughput: [
    {
      profiled: false,
      transactions: 1000,
      accepted: 1000,
      acceptedTps: 2000,
      endToEndTps: 1500,
      cpu: { processUs: 1_500_000, mainThreadUs: 900_000, otherThreads: [] },
    },
    {
      profiled: true,
      transactions: 1000,
      accepted: 1000,
      acceptedTps: 1900,
      endToEndTps: 1400,
      // The JS thread measured 800 ms of CPU for 1 s of busy samples: each stage gets its share of the 800 ms.
      cpu: { processUs: 1_650_000, mainThreadUs: 800_000, otherThreads: [{ name: 'chdb', us: 600_000 }] },
      attribution,
    },
  ],
  latency: [
    {
      rateTps: 1000,
      seconds: 10,
      sent: 10_000,
      achievedTps: 999,
      decision: latency,
      alert: { ...latency, p99Ms: 250 },
    },
  ],
  sync: [],
};

const ceiling = {
  us: { ingest: 50_000, scoring: 100_000, 'ledger-sink': 100_000 },
  transactions: 1000,
  rowBytes: 3_000_000,
};

const context = {
  command: 'npm run bench -- --json x.json',
  options: { total: 1000 },
  date: '2026-12-07T00:00:00.000Z',
  machine: '2 × test cpu',
  node: 'v20.20.2',
  loadAverage: { start: [1, 1, 1], end: [2, 2, 2] },
  sampleIntervalUs: 1000,
};

describe('buildReport', () => {
  const report = buildReport(figures, ceiling, context);

  it('splits the measured JS-thread CPU by the stages’ shares of its busy samples', () => {
    expect(report.jsThreadUsPerTx).toBe(800);
    expect(report.stages.ingest.cpuUsPerTx).toBe(240);
    expect(report.stages.scoring.cpuUsPerTx).toBe(400);
    expect(report.stages['ledger-sink'].cpuUsPerTx).toBe(160);
    expect(report.stages.scoring.topFrames).toEqual([{ frame: 'score scoring/app/scorer.ts:10', usPerTx: 200 }]);
    expect(report.otherThreadsUsPerTx).toBe(850);
    expect(report.jsThreadIdleShare).toBe(0.5);
  });

  it('takes headline throughput and CPU from the unprofiled run and the profiler cost from the pair', () => {
    expect(report.endToEndTps).toBe(1500);
    expect(report.cpuUsPerTx).toBe(1500);
    expect(report.profiler.cpuOverheadPct).toBe(10);
    // 1000 tx in 250 ms of stage work
    expect(report.ceilingTps).toBe(4000);
    expect(report.endToEndOverCeiling).toBe(0.375);
    expect(report.latency[0]).toMatchObject({ rateTps: 1000, decisionP99Ms: 180, alertP99Ms: 250 });
  });

  it('has every field the issue asks for, as JSON', () => {
    expect(reportProblems(JSON.parse(JSON.stringify(report)))).toEqual([]);
  });

  it('negative control: a report without a stage figure or a latency field is refused, naming the path', () => {
    const broken = JSON.parse(JSON.stringify(report)) as { stages: Record<string, unknown>; latency: object[] };
    delete broken.stages['scoring'];
    broken.latency[0] = { ...broken.latency[0], decisionP99Ms: 'slow' };
    expect(reportProblems(broken)).toEqual(['stages.scoring.cpuUsPerTx', 'latency.0.decisionP99Ms']);
    expect(reportProblems({})).toContain('acceptedTps');
  });

  it('refuses figures without a profiled run', () => {
    expect(() => buildReport({ ...figures, throughput: figures.throughput.slice(0, 1) }, ceiling, context)).toThrow(
      /profiled/,
    );
  });
});
