import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureEngine } from '../domain/features.js';
import type { ScoringSnapshot } from '../ports.js';
import { sampleTransaction } from '../../schemas/fixtures.js';
import { FileSnapshotStore, decodeSnapshot, encodeSnapshot } from './snapshot-store.js';

describe('scoring snapshot file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-snap-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips feature state as raw bytes, so a restored engine computes identical features', async () => {
    const engine = new FeatureEngine();
    for (let i = 0; i < 50; i++)
      engine.observe(
        sampleTransaction({
          transactionId: `t${i}`,
          payerAccountId: `a${i % 7}`,
          eventTimeMs: 1_764_000_000_000 + i * 60_000,
        }),
      );
    const snapshot: ScoringSnapshot = {
      format: 'vigil.scoring-snapshot.v1',
      writtenAtMs: 1,
      offsets: [{ topic: 'tx.raw', partition: 0, nextOffset: 50 }],
      engine: engine.snapshot(),
    };
    const store = new FileSnapshotStore(join(dir, 'state.snapshot'));
    await store.save(snapshot);
    const loaded = (await store.load())!;
    expect(loaded.offsets).toEqual(snapshot.offsets);
    const restored = new FeatureEngine();
    restored.restore(loaded.engine);
    const next = sampleTransaction({
      transactionId: 'next',
      payerAccountId: 'a3',
      eventTimeMs: 1_764_000_000_000 + 60 * 60_000,
    });
    expect(restored.observe(next)).toEqual(engine.observe(next));
  });

  it('rejects a truncated or foreign file with a clear error', async () => {
    const parts = Buffer.concat(
      encodeSnapshot({ offsets: {}, blob: new Uint8Array([1, 2, 3]) } as unknown as ScoringSnapshot),
    );
    expect(() => decodeSnapshot(parts.subarray(0, parts.length - 1))).toThrow(/truncated/);
    writeFileSync(join(dir, 'bad'), 'not a snapshot');
    await expect(new FileSnapshotStore(join(dir, 'bad')).load()).rejects.toMatchObject({ code: 'SNAPSHOT_UNREADABLE' });
    expect(await new FileSnapshotStore(join(dir, 'missing')).load()).toBeUndefined();
  });
});
