import { KeyedLock } from './keyed-lock.js';

describe('KeyedLock', () => {
  it('serialises holders of a shared key and lets disjoint keys run together', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const releaseA = await lock.acquire(['x', 'y']);
    const second = lock.acquire(['y']).then((release) => {
      order.push('second');
      release();
    });
    const disjoint = lock.acquire(['z']).then((release) => {
      order.push('disjoint');
      release();
    });
    await disjoint;
    expect(order).toEqual(['disjoint']);
    order.push('first releases');
    releaseA();
    await second;
    expect(order).toEqual(['disjoint', 'first releases', 'second']);
    expect(lock.size).toBe(0);
  });

  it('handles repeated keys in one acquisition and overlapping sets without deadlock', async () => {
    const lock = new KeyedLock();
    const runs = await Promise.all(
      [['a', 'b', 'a'], ['b', 'a'], ['a'], ['b']].map(async (keys, i) => {
        const release = await lock.acquire(keys);
        await new Promise((r) => setTimeout(r, 1));
        release();
        return i;
      }),
    );
    expect(runs).toEqual([0, 1, 2, 3]);
    expect(lock.size).toBe(0);
  });
});
