import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../platform/clock.js';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import { NOW_MS, recordingLogger } from '../testing/fixtures.js';
import { ClaimsIdempotencyStore } from './claims-idempotency-store.js';

/** The claims store on the embedded log (any Bus will do): the window, eviction, unreadable records. */
async function setup(windowMs: number) {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-claims-'));
  const bus = await EmbeddedLog.open({ dir });
  const clock = new ManualClock(NOW_MS);
  const logger = recordingLogger();
  const store = await ClaimsIdempotencyStore.open({
    bus,
    topic: 'ingest.idempotency',
    partitions: 1,
    replica: 'a',
    rules: { windowMs, claimTimeoutMs: 1_000 },
    clock,
    logger,
  });
  const accept = async (transactionId: string, fingerprint: string, offset: number) => {
    const known = await store.claim([{ transactionId, fingerprint }]);
    if (known.size === 0) await store.remember([{ transactionId, fingerprint, partition: 0, offset }]);
    return known.get(transactionId);
  };
  return {
    bus,
    clock,
    logger,
    store,
    accept,
    close: async () => {
      await store.close();
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('ClaimsIdempotencyStore', () => {
  test('answers an accepted id for the window, then forgets it when the log is a window past it', async () => {
    const t = await setup(10_000);
    try {
      expect(await t.accept('tx-1', 'f1', 5)).toBeUndefined();
      expect(await t.accept('tx-1', 'f2', 6)).toEqual({
        transactionId: 'tx-1',
        fingerprint: 'f1',
        partition: 0,
        offset: 5,
      });
      t.clock.advance(10_000);
      // Past the window the id is ingest's again (ledger-sink answers the repeat); eviction follows the log's time.
      expect(await t.accept('tx-2', 'f1', 7)).toBeUndefined();
      expect(t.store.size()).toBe(1);
      expect(await t.accept('tx-1', 'f2', 8)).toBeUndefined();
      expect(t.store.size()).toBe(2);
    } finally {
      await t.close();
    }
  });

  test('a window of 0 keeps every id', async () => {
    const t = await setup(0);
    try {
      await t.accept('tx-1', 'f1', 5);
      t.clock.advance(365 * 86_400_000);
      expect(await t.accept('tx-2', 'f1', 6)).toBeUndefined();
      expect(await t.accept('tx-1', 'f1', 7)).toEqual({
        transactionId: 'tx-1',
        fingerprint: 'f1',
        partition: 0,
        offset: 5,
      });
      expect(t.store.size()).toBe(2);
    } finally {
      await t.close();
    }
  });

  test('skips an unreadable record on the claims topic with a warning naming its offset', async () => {
    const t = await setup(0);
    try {
      await t.bus.producer().send('ingest.idempotency', [
        { key: 'tx-9', value: Buffer.from('not json') },
        { key: null, value: Buffer.from('{"type":"claim","claimId":"x"}') },
      ]);
      expect(await t.accept('tx-1', 'f1', 5)).toBeUndefined();
      expect(t.store.size()).toBe(1);
      const warnings = t.logger.lines.filter((line) => line.includes('unreadable record skipped'));
      expect(warnings.map((line) => (JSON.parse(line) as { offset: number }).offset)).toEqual([0, 1]);
    } finally {
      await t.close();
    }
  });

  test('is ready once the topic as it was at open is folded', async () => {
    const t = await setup(0);
    try {
      await t.accept('tx-1', 'f1', 5);
      const second = await ClaimsIdempotencyStore.open({
        bus: t.bus,
        topic: 'ingest.idempotency',
        partitions: 1,
        replica: 'b',
        rules: { windowMs: 0, claimTimeoutMs: 1_000 },
        clock: t.clock,
        logger: t.logger,
      });
      try {
        expect(await second.claim([{ transactionId: 'tx-1', fingerprint: 'f1' }])).toEqual(
          new Map([['tx-1', { transactionId: 'tx-1', fingerprint: 'f1', partition: 0, offset: 5 }]]),
        );
        expect(second.isHealthy()).toBe(true);
      } finally {
        await second.close();
      }
    } finally {
      await t.close();
    }
  });
});
