import { simulateLedgerSink } from '../testing/fault-simulation.js';

/**
 * ledger-sink's state machine under seeded faults (crashes mid-insert, writes that time out after landing,
 * failures before writing, crashes between a batch and its commit, a zombie member handling an overlapping batch
 * at the same time as the new owner, duplicates, conflicts and poison on the log). Each seed is one deterministic interleaving; `npm run simulate:faults -- --seeds 100000` runs many more.
 */
const SEEDS = 300;

describe('ledger-sink fault simulation', () => {
  it(`holds every invariant for ${SEEDS} seeds, and injects every kind of fault`, async () => {
    const failing: string[] = [];
    const injected = { failBefore: 0, timeoutAfter: 0, crash: 0, crashBeforeCommit: 0, zombie: 0 };
    const lifecycle = { holds: 0, posted: 0, voided: 0, reversalEntries: 0 };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const result = await simulateLedgerSink(seed);
      for (const kind of Object.keys(injected) as Array<keyof typeof injected>) injected[kind] += result.faults[kind];
      lifecycle.holds += result.counts.holds;
      lifecycle.posted += result.counts.resolutions.POSTED;
      lifecycle.voided += result.counts.resolutions.VOIDED;
      lifecycle.reversalEntries += result.counts.reversalEntries;
      if (result.violations.length > 0) failing.push(`seed ${seed}: ${result.violations.slice(0, 3).join('; ')}`);
    }
    expect(failing).toEqual([]);
    // A simulation that injects nothing proves nothing.
    for (const count of Object.values(injected)) expect(count).toBeGreaterThan(0);
    // Nor does one whose verdicts never post, void or reverse anything.
    for (const count of Object.values(lifecycle)) expect(count).toBeGreaterThan(0);
  }, 120_000);

  it('replays a seed exactly', async () => {
    const first = await simulateLedgerSink(4242);
    const again = await simulateLedgerSink(4242);
    expect(again).toEqual(first);
    expect(first.counts.records).toBeGreaterThan(first.counts.acceptedTransactions);
  }, 60_000);

  it('negative control: with the idempotency check switched off, redeliveries post twice and the check sees it', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => simulateLedgerSink(i + 1, { plantedBug: 'forget-stored-entries' })),
    );
    const failing = results.filter((r) => r.violations.length > 0);
    expect(failing.length).toBeGreaterThan(0);
    expect(failing[0]!.violations.join('\n')).toMatch(/rows, expected 1/);
    // The failing seed is a reproducible report: it fails the same way again.
    const replay = await simulateLedgerSink(failing[0]!.seed, { plantedBug: 'forget-stored-entries' });
    expect(replay.violations).toEqual(failing[0]!.violations);
  }, 60_000);

  it('negative control: with resolved holds reported as open, a hold is resolved twice and the check sees it', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => simulateLedgerSink(i + 1, { plantedBug: 'forget-hold-resolutions' })),
    );
    const failing = results.filter((r) => r.violations.length > 0);
    expect(failing.length).toBeGreaterThan(0);
    expect(failing[0]!.violations.join('\n')).toMatch(/resolutions \[.*,.*\], expected/);
  }, 60_000);

  it('negative control: with plain inserts, a zombie racing the new owner posts twice and the check sees it; without zombies the look-up alone suffices', async () => {
    const seeds = Array.from({ length: 20 }, (_, i) => i + 1);
    const plain = await Promise.all(seeds.map((seed) => simulateLedgerSink(seed, { plantedBug: 'plain-inserts' })));
    const failing = plain.filter((r) => r.violations.length > 0);
    expect(failing.length).toBeGreaterThan(0);
    expect(failing.every((r) => r.faults.zombie > 0)).toBe(true);
    expect(failing[0]!.violations.join('\n')).toMatch(/(rows|holds|entries), expected 1/);
    const replay = await simulateLedgerSink(failing[0]!.seed, { plantedBug: 'plain-inserts' });
    expect(replay.violations).toEqual(failing[0]!.violations);
    // The same seeds with no zombie: one member at a time, its look-up finds what it wrote, plain inserts or not.
    const alone = await Promise.all(
      seeds.map((seed) => simulateLedgerSink(seed, { plantedBug: 'plain-inserts', faults: { zombie: 0 } })),
    );
    expect(alone.filter((r) => r.violations.length > 0).map((r) => r.seed)).toEqual([]);
  }, 60_000);
});
