import { aTransaction } from '../testing/transactions.js';
import { fi } from './feature-names.js';
import { FEATURE_STATE_IDLE_MS, FeatureEngine } from './features.js';
import { SlotTable, type SlotLayout } from './keyed-state.js';

const DAY = 86_400_000;
/** One scalar (a running count), a 3-day ring of daily counts, 4 hash cells. */
const layout: SlotLayout = {
  scalars: 2,
  rings: [{ bucketMs: DAY, buckets: 3, channels: 1 }],
  hashes: 4,
  idleMs: 3 * DAY,
};
const withoutReset: SlotLayout = { ...layout, idleMs: undefined };

/** One event for `key` at `t`: counts it, remembers `seen`, and returns what a feature would read. */
function touch(table: SlotTable, key: string, t: number, seen: number): string {
  const slot = table.slot(key, 0, t);
  table.add(slot, 0, t, 0, 1);
  table.setScalar(slot, 0, table.scalar(slot, 0) + 1);
  const known = table.seenOrRemember(slot, 0, 4, 1, seen);
  return `${table.scalar(slot, 0)}/${table.sum(slot, 0, t, 0, 3)}/${known}`;
}

/** A returning key: "a" at day 0, "b" every day, "a" again at day 10 with the same `seen` value. */
function returningKey(table: SlotTable, sweep: boolean): string[] {
  const reads: string[] = [touch(table, 'a', 0, 7)];
  for (let day = 0; day <= 10; day++) {
    reads.push(touch(table, 'b', day * DAY, day));
    if (sweep) table.evictIdle(day * DAY - (table.layout.idleMs ?? 3 * DAY));
  }
  reads.push(touch(table, 'a', 10 * DAY, 7));
  return reads;
}

describe('SlotTable idle keys', () => {
  it('evicts keys whose newest bucket ended idleMs ago, keeps the rest with their state, and reuses slots clean', () => {
    const table = new SlotTable(layout);
    touch(table, 'old', 0, 1);
    touch(table, 'mid', 2 * DAY, 2);
    touch(table, 'new', 5 * DAY, 3);
    // "old"'s bucket ended at 1 day: gone at cutoff 1 day; "mid" ended at 3 days: kept.
    expect(table.evictIdle(DAY)).toBe(1);
    expect(table.size).toBe(2);
    expect(table.find('old')).toBe(-1);
    expect(table.sum(table.find('mid'), 0, 2 * DAY, 0, 1)).toBe(1);
    expect(table.sum(table.find('new'), 0, 5 * DAY, 0, 1)).toBe(1);
    // A new key in the freed slot starts empty: the moved key's hashes do not read as "seen".
    expect(touch(table, 'fresh', 5 * DAY, 3)).toBe('1/1/false');
  });

  it('shrinks its pools when three quarters are free', () => {
    const table = new SlotTable(layout);
    for (let i = 0; i < 10_000; i++) touch(table, `k${i}`, i < 9_000 ? 0 : 10 * DAY, i);
    // 52 bytes a slot (3 f64 + 3 f32 + 4 i32); 10,000 keys took the pools to 16,384 slots, 1,000 left need 2,000.
    expect(table.bytes).toBe(16_384 * 52);
    expect(table.evictIdle(5 * DAY)).toBe(9_000);
    expect(table.size).toBe(1_000);
    expect(table.bytes).toBe(2_000 * 52);
  });

  it('reads the same whether or not the sweep ran, because an idle key is reset at its next event', () => {
    const swept = returningKey(new SlotTable(layout), true);
    expect(swept).toEqual(returningKey(new SlotTable(layout), false));
    // Back after 10 days, "a" starts fresh: count 1, one event in its window, its old device unknown.
    expect(swept.at(-1)).toBe('1/1/false');
  });

  it('negative control: without the per-event reset, sweeping changes what a returning key reads', () => {
    expect(returningKey(new SlotTable(withoutReset), true)).not.toEqual(
      returningKey(new SlotTable(withoutReset), false),
    );
  });
});

describe('FeatureEngine idle state', () => {
  /** 200 customers; odd ones pay on days 0–4, pause for 45 days, and pay again; even ones pay every day. */
  function run(sweep: boolean): { vectors: number[][]; customers: number; evicted: number; returning: number[] } {
    const engine = new FeatureEngine();
    const vectors: number[][] = [];
    let evicted = 0;
    let returning: number[] = [];
    for (let day = 0; day < 60; day++) {
      const t = 1_760_000_000_000 + day * DAY;
      for (let c = 0; c < 200; c++) {
        if (c % 2 === 1 && day >= 5 && day < 50) continue;
        const tx = aTransaction({
          transactionId: `tx-${day}-${c}`,
          customerId: `cust-${c}`,
          payerAccountId: `acct-${c}`,
          card: { token: `tok-${c}`, bin: '411111', last4: '1111', present: true },
          deviceId: `dev-${c}`,
          eventTimeMs: t + c * 1000,
          amountMinor: BigInt(1_000 + c * 10 + day),
        });
        vectors.push([...engine.observe(tx)]);
        if (day === 50 && c === 1) returning = vectors.at(-1)!;
      }
      if (sweep) evicted += engine.evictIdle(t + DAY);
    }
    return { vectors, customers: engine.stats().customers, evicted, returning };
  }

  it('gives the same features with and without eviction, and a customer back after 45 idle days starts new', () => {
    const swept = run(true);
    const kept = run(false);
    expect(swept.vectors).toEqual(kept.vectors);
    // On day 44 the odd customers' state (last event day 4) passed the 38-day horizon: 100 customers, 100 cards,
    // 100 devices went; the terminal is shared and busy.
    expect(swept.evicted).toBe(300);
    expect(kept.customers).toBe(200);
    expect(FEATURE_STATE_IDLE_MS).toBe(38 * DAY);
    expect(swept.returning[fi('cust_history_count')]).toBe(0);
    expect(kept.returning[fi('cust_history_count')]).toBe(0);
  });
});

describe('SlotTable changes', () => {
  /** What each key holds, by key: slot numbers differ between a table and its copy. */
  const byKey = (table: SlotTable): Record<string, string> => {
    const { keys, f64, f32, i32 } = table.snapshot();
    const pools = [
      { bytes: f64, stride: table.f64Stride * 8 },
      { bytes: f32, stride: table.f32Stride * 4 },
      { bytes: i32, stride: table.i32Stride * 4 },
    ];
    return Object.fromEntries(
      keys.map((key, slot) => [
        key,
        pools
          .map(({ bytes, stride }) => Buffer.from(bytes.subarray(slot * stride, (slot + 1) * stride)).toString('hex'))
          .join('|'),
      ]),
    );
  };

  it('given keys written, evicted (moving the last slot into the hole) and written again, then the copy that applies each change set holds what the table holds, and only touched keys are written', () => {
    const table = new SlotTable(layout);
    const copy = new SlotTable(layout);
    for (const key of ['a', 'b', 'c', 'd']) touch(table, key, 0, 1);
    copy.restore(table.snapshot());

    touch(table, 'b', 5 * DAY, 2);
    touch(table, 'e', 5 * DAY, 3);
    // 'a', 'c' and 'd' go; 'e' (changed, the last slot) moves into a hole left by one of them.
    table.evictIdle(4 * DAY);
    const first = table.changes();
    expect([...first.written.keys].sort()).toEqual(['b', 'e']);
    expect([...first.removedKeys].sort()).toEqual(['a', 'c', 'd']);
    copy.applyChanges(first);
    expect(byKey(copy)).toEqual(byKey(table));

    touch(table, 'a', 6 * DAY, 4);
    touch(table, 'e', 6 * DAY, 5);
    const second = table.changes();
    expect([...second.written.keys].sort()).toEqual(['a', 'e']);
    expect(second.removedKeys).toEqual([]);
    copy.applyChanges(second);
    expect(byKey(copy)).toEqual(byKey(table));
    expect(table.changes().written.keys).toEqual([]);
  });

  it('negative control: a change set left out leaves the copy behind', () => {
    const table = new SlotTable(layout);
    const copy = new SlotTable(layout);
    touch(table, 'a', 0, 1);
    copy.applyChanges(table.changes());
    touch(table, 'a', DAY, 2);
    table.changes();
    touch(table, 'b', DAY, 3);
    copy.applyChanges(table.changes());
    expect(byKey(copy)).not.toEqual(byKey(table));
  });
});
