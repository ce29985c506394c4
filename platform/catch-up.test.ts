import { CatchUp } from './catch-up.js';

/** Pure bookkeeping: a fake bus answers endOffsets; batches carry only offsets. */
const bus = (ends: number[]) => ({ endOffsets: () => Promise.resolve(ends) });
const batch = (partition: number, ...offsets: number[]) => ({
  partition,
  records: offsets.map((offset) => ({ offset })) as never,
});

describe('CatchUp', () => {
  it('is loaded once every partition is read up to where it ended at the start, and stays loaded', async () => {
    const progress = await CatchUp.of(bus([3, 1]), 't');
    let resolved = false;
    void progress.loaded.then(() => (resolved = true));
    progress.handled(batch(0, 0, 1, 2));
    await Promise.resolve();
    expect([progress.isLoaded(), resolved, progress.nextOffset(0), progress.nextOffset(1)]).toEqual([
      false,
      false,
      3,
      0,
    ]);
    progress.handled(batch(1, 0));
    await progress.loaded;
    expect(progress.isLoaded()).toBe(true);
    progress.handled(batch(1)); // an empty batch changes nothing
    expect([progress.isLoaded(), progress.nextOffset(1)]).toEqual([true, 1]);
  });

  it('is loaded at once for an empty topic', async () => {
    const progress = await CatchUp.of(bus([0, 0]), 't');
    expect(progress.isLoaded()).toBe(true);
    await progress.loaded;
  });

  it('control: a partition left short keeps it unloaded', async () => {
    const progress = await CatchUp.of(bus([3, 1]), 't');
    progress.handled(batch(0, 0, 1));
    progress.handled(batch(1, 0));
    expect(progress.isLoaded()).toBe(false);
  });
});
