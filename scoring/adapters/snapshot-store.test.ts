import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureEngine } from '../domain/features.js';
import type { ScoringChanges, ScoringSnapshot, StoredScoringState } from '../ports.js';
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
    expect(loaded.changes).toEqual([]);
    expect(loaded.snapshot.offsets).toEqual(snapshot.offsets);
    const restored = new FeatureEngine();
    restored.restore(loaded.snapshot.engine);
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

  describe('changes appended after the snapshot', () => {
    const t0 = 1_764_000_000_000;
    /** Transaction i of a stream over 7 payers, a minute apart: every change touches a few of the same keys. */
    const tx = (i: number) =>
      sampleTransaction({ transactionId: `t${i}`, payerAccountId: `a${i % 7}`, eventTimeMs: t0 + i * 60_000 });
    const changesOf = (engine: FeatureEngine, nextOffset: number): ScoringChanges => ({
      format: 'vigil.scoring-changes.v1',
      writtenAtMs: nextOffset,
      offsets: [{ topic: 'tx.raw', partition: 0, nextOffset }],
      engine: engine.changes(),
      funds: { accounts: [] },
    });
    const snapshotOf = (engine: FeatureEngine, nextOffset: number): ScoringSnapshot => ({
      format: 'vigil.scoring-snapshot.v1',
      writtenAtMs: nextOffset,
      offsets: [{ topic: 'tx.raw', partition: 0, nextOffset }],
      engine: engine.snapshot(),
    });
    /** The engine a restart builds from what the store holds. */
    const restoredFrom = (state: StoredScoringState): FeatureEngine => {
      const engine = new FeatureEngine();
      engine.restore(state.snapshot.engine);
      for (const change of state.changes) engine.applyChanges(change.engine);
      return engine;
    };
    /** Observes transactions [from, to) into `engine`. */
    const observe = (engine: FeatureEngine, from: number, to: number) => {
      for (let i = from; i < to; i++) engine.observe(tx(i));
    };
    const changesFiles = () => readdirSync(dir).filter((name) => name.includes('.changes-'));
    /** The features two engines give the same next transactions (each engine is changed by it). */
    const nextFeatures = (engine: FeatureEngine) => [tx(1000), tx(1001)].map((t) => Array.from(engine.observe(t)));

    it('restores the snapshot with every change appended since, and the state computes what the live one does', async () => {
      const live = new FeatureEngine();
      const store = new FileSnapshotStore(join(dir, 'state.snapshot'));
      observe(live, 0, 20);
      await store.save(snapshotOf(live, 20));
      for (const end of [30, 40, 50]) {
        observe(live, end - 10, end);
        await store.append(changesOf(live, end));
      }
      await store.close();
      const loaded = (await new FileSnapshotStore(join(dir, 'state.snapshot')).load())!;
      expect(loaded.changes.map((c) => c.offsets[0]!.nextOffset)).toEqual([30, 40, 50]);
      expect(nextFeatures(restoredFrom(loaded))).toEqual(nextFeatures(live));
      // Negative control: without the last change, the restored state computes something else.
      expect(nextFeatures(restoredFrom({ ...loaded, changes: loaded.changes.slice(0, 2) }))).not.toEqual(
        nextFeatures(restoredFrom(loaded)),
      );
    });

    it('given a crash that tore the last append, then the changes before it are restored and later appends go on from there', async () => {
      const live = new FeatureEngine();
      const path = join(dir, 'state.snapshot');
      let store = new FileSnapshotStore(path);
      observe(live, 0, 20);
      await store.save(snapshotOf(live, 20));
      const before = new FeatureEngine();
      before.restore(live.snapshot());
      observe(live, 20, 30);
      observe(before, 20, 30);
      await store.append(changesOf(live, 30));
      before.changes();
      observe(live, 30, 40);
      await store.append(changesOf(live, 40));
      await store.close();
      const [file] = changesFiles();
      const full = readFileSync(join(dir, file!)).length;
      truncateSync(join(dir, file!), full - 5);

      store = new FileSnapshotStore(path);
      const torn = (await store.load())!;
      expect(torn.changes.map((c) => c.offsets[0]!.nextOffset)).toEqual([30]);
      expect(nextFeatures(restoredFrom(torn))).toEqual(nextFeatures(before));

      // The restart handles 30..40 again and appends; the torn record is behind it in its own file.
      const restarted = restoredFrom(torn);
      restarted.changes();
      observe(restarted, 30, 45);
      await store.append(changesOf(restarted, 45));
      await store.close();
      expect(changesFiles()).toHaveLength(2);
      const reloaded = (await new FileSnapshotStore(path).load())!;
      expect(reloaded.changes.map((c) => c.offsets[0]!.nextOffset)).toEqual([30, 45]);
      const reference = new FeatureEngine();
      observe(reference, 0, 45);
      expect(nextFeatures(restoredFrom(reloaded))).toEqual(nextFeatures(reference));
    });

    it('refuses changes with a gap: committed offsets may follow the missing ones', async () => {
      const live = new FeatureEngine();
      const path = join(dir, 'state.snapshot');
      let store = new FileSnapshotStore(path);
      observe(live, 0, 10);
      await store.save(snapshotOf(live, 10));
      await store.append(changesOf(live, 10));
      store = new FileSnapshotStore(path);
      await store.load();
      observe(live, 10, 20);
      await store.append(changesOf(live, 20));
      await store.close();
      expect(changesFiles()).toHaveLength(2);
      // The first file's only record damaged: change 1 is gone while change 2 (in the next file) is there.
      const [first] = changesFiles().sort();
      const bytes = readFileSync(join(dir, first!));
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
      writeFileSync(join(dir, first!), bytes);
      await expect(new FileSnapshotStore(path).load()).rejects.toMatchObject({ code: 'SNAPSHOT_UNREADABLE' });
    });

    it('compacts in the background while appends go on, and a crash at any step of it restores the same state', async () => {
      const live = new FeatureEngine();
      const path = join(dir, 'state.snapshot');
      const store = new FileSnapshotStore(path, { minCompactionBytes: 0 });
      observe(live, 0, 5);
      await store.save(snapshotOf(live, 5));
      let end = 5;
      const appended: number[] = [];
      while (!store.compactionDue) {
        observe(live, end, end + 20);
        end += 20;
        await store.append(changesOf(live, end));
        appended.push(end);
      }
      // Kill between the changes and the compaction: what is on disk now.
      const beforeCompaction = new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))]));
      const compaction = store.compact(snapshotOf(live, end));
      expect(store.compactionDue).toBe(false);
      observe(live, end, end + 20);
      end += 20;
      await store.append(changesOf(live, end));
      await compaction;
      await store.close();
      const reference = nextFeatures(live);

      const compacted = (await new FileSnapshotStore(path).load())!;
      expect(compacted.changes.map((c) => c.offsets[0]!.nextOffset)).toEqual([end]);
      expect(changesFiles()).toHaveLength(1);
      expect(nextFeatures(restoredFrom(compacted))).toEqual(reference);

      // Killed after the new snapshot was renamed and before the files it covers were deleted: they are skipped.
      for (const [name, bytes] of beforeCompaction)
        if (name.includes('.changes-')) writeFileSync(join(dir, name), bytes);
      const leftovers = (await new FileSnapshotStore(path).load())!;
      expect(leftovers.changes.map((c) => c.offsets[0]!.nextOffset)).toEqual([end]);
      expect(nextFeatures(restoredFrom(leftovers))).toEqual(reference);

      // Killed before the rename: the old snapshot, every change since, and a half-written temporary file.
      writeFileSync(join(dir, 'state.snapshot'), beforeCompaction.get('state.snapshot')!);
      writeFileSync(join(dir, 'state.snapshot.tmp'), 'half a snapshot');
      const beforeRename = (await new FileSnapshotStore(path).load())!;
      expect(beforeRename.changes.map((c) => c.offsets[0]!.nextOffset)).toEqual([...appended, end]);
      expect(nextFeatures(restoredFrom(beforeRename))).toEqual(reference);
    });
  });
});
