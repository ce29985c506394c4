import { jest } from '@jest/globals';
import { RedeliveryBackoff } from './backoff.js';
import type { RecordBatch } from './bus.js';
import { UnavailableError, VigilError } from './errors.js';
import { createLogger } from './logger.js';
import { type HandlerFailure, PoisonIsolation, classifyHandlerFailure, deliverUntilHandled } from './redelivery.js';

const batch: RecordBatch = {
  topic: 'tx.raw',
  partition: 2,
  records: [0, 1, 2].map((i) => ({
    topic: 'tx.raw',
    partition: 2,
    offset: 40 + i,
    key: null,
    value: Buffer.from([i]),
    headers: {},
    timestampMs: 0,
  })),
};

/** A logger that keeps its lines, parsed, so the test reads what an operator would. */
function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }), lines };
}

/** A handler that rejects with `failures` in turn, then resolves; it records every batch it was handed. */
function scriptedHandler(failures: Error[]): { handler: (b: RecordBatch) => Promise<void>; seen: RecordBatch[] } {
  const seen: RecordBatch[] = [];
  const queue = [...failures];
  return {
    seen,
    handler: (b) => {
      seen.push(b);
      const failure = queue.shift();
      return failure === undefined ? Promise.resolve() : Promise.reject(failure);
    },
  };
}

// 1 ms waits: the loop's order of events is what is tested, never how long it took.
const backoff = (): RedeliveryBackoff => new RedeliveryBackoff(1, 1);

describe('deliverUntilHandled', () => {
  it('redelivers the same batch after each failure until the handler resolves', async () => {
    const { handler, seen } = scriptedHandler([
      new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'down'),
      new Error('x'),
    ]);
    const { logger, lines } = recordingLogger();
    const beforeRetry = jest.fn(() => Promise.resolve());

    await expect(
      deliverUntilHandled(batch, handler, { backoff: backoff(), logger, mayRetry: () => true, beforeRetry }),
    ).resolves.toBe(true);

    expect(seen).toHaveLength(3);
    expect(seen.every((b) => b === batch)).toBe(true);
    expect(beforeRetry).toHaveBeenCalledTimes(2);
    expect(lines.map((l) => [l['msg'], l['attempt'], l['fromOffset'], l['records'], l['retriable']])).toEqual([
      ['bus handler failed; the batch will be redelivered', 1, 40, 3, true],
      ['bus handler failed; the batch will be redelivered', 2, 40, 3, false],
    ]);
  });

  it('lets go of the batch (false) once this member may no longer process it, before or after the wait', async () => {
    for (const allowedChecks of [0, 1]) {
      const { handler, seen } = scriptedHandler([new Error('a'), new Error('b')]);
      let checks = 0;
      const beforeRetry = jest.fn(() => Promise.resolve());
      const handled = await deliverUntilHandled(batch, handler, {
        backoff: backoff(),
        logger: recordingLogger().logger,
        mayRetry: () => checks++ < allowedChecks,
        beforeRetry,
      });
      expect(handled).toBe(false);
      expect(seen).toHaveLength(1);
      expect(beforeRetry).not.toHaveBeenCalled();
    }
  });

  it('propagates a failing beforeRetry (a Kafka heartbeat after a rebalance) without another attempt', async () => {
    const { handler, seen } = scriptedHandler([new Error('a')]);
    const rebalanced = new VigilError('KAFKA_REBALANCED', 'rebalanced');
    await expect(
      deliverUntilHandled(batch, handler, {
        backoff: backoff(),
        logger: recordingLogger().logger,
        mayRetry: () => true,
        beforeRetry: () => Promise.reject(rebalanced),
      }),
    ).rejects.toBe(rebalanced);
    expect(seen).toHaveLength(1);
  });

  it('counts consecutive identical non-retriable failures (without a dead-letter sink the batch stays whole)', async () => {
    const poison = (): VigilError => new VigilError('UNBALANCED_POSTING', 'poison');
    const { handler } = scriptedHandler([
      poison(),
      poison(),
      new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'down'),
      poison(),
      poison(),
      poison(),
      new VigilError('LEDGER_INT64_OVERFLOW', 'other'),
    ]);
    const { logger, lines } = recordingLogger();
    await deliverUntilHandled(batch, handler, { backoff: backoff(), logger, mayRetry: () => true });
    expect(lines.map((l) => l['sameFailureAttempts'])).toEqual([1, 2, 0, 1, 2, 3, 1]);
  });

  it('classifies with the function it is given', async () => {
    const classify = jest.fn((): HandlerFailure => ({ retriable: false, code: 'INTERNAL' }));
    const { handler } = scriptedHandler([new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'down'), new Error('x')]);
    const { logger, lines } = recordingLogger();
    await deliverUntilHandled(batch, handler, { backoff: backoff(), logger, mayRetry: () => true, classify });
    expect(classify).toHaveBeenCalledTimes(2);
    expect(lines.map((l) => [l['retriable'], l['sameFailureAttempts']])).toEqual([
      [false, 1],
      [false, 2],
    ]);
  });

  it('classifies by default from the VigilError flag and code; anything else is a non-retriable failure', () => {
    expect(classifyHandlerFailure(new UnavailableError('MODEL_UNAVAILABLE', 'x'))).toEqual({
      retriable: true,
      code: 'MODEL_UNAVAILABLE',
    });
    expect(classifyHandlerFailure(new TypeError('bug'))).toEqual({ retriable: false, code: undefined });
  });
});

/** A batch of `count` records from offset 100 on partition 1 of tx.scored. */
function batchOf(count: number): RecordBatch {
  return {
    topic: 'tx.scored',
    partition: 1,
    records: Array.from({ length: count }, (_, i) => ({
      topic: 'tx.scored',
      partition: 1,
      offset: 100 + i,
      key: null,
      value: Buffer.from([i]),
      headers: {},
      timestampMs: 0,
    })),
  };
}

/**
 * A handler that refuses, non-retriably and every time, any batch holding one of the `poison` offsets, and
 * records the offsets of every batch it handled successfully.
 */
function poisonedHandler(poison: ReadonlySet<number>): {
  handler: (b: RecordBatch) => Promise<void>;
  handled: number[];
} {
  const handled: number[] = [];
  return {
    handled,
    handler: (b) => {
      const bad = b.records.find((r) => poison.has(r.offset));
      if (bad !== undefined)
        return Promise.reject(new VigilError('RECORD_TOO_LARGE', `offset ${bad.offset} makes an output too large`));
      handled.push(...b.records.map((r) => r.offset));
      return Promise.resolve();
    },
  };
}

describe('deliverUntilHandled isolating poison records', () => {
  it('splits a batch that fails the same way twice, dead-letters exactly the records at fault and handles the rest in order', async () => {
    const { handler, handled } = poisonedHandler(new Set([103, 117, 118]));
    const lettered: Array<[number, string]> = [];
    const deadLetter = (record: { offset: number }, error: unknown): Promise<void> => {
      lettered.push([record.offset, (error as VigilError).code]);
      return Promise.resolve();
    };
    const beforeRetry = jest.fn(() => Promise.resolve());
    const done = await deliverUntilHandled(batchOf(20), handler, {
      backoff: backoff(),
      logger: recordingLogger().logger,
      mayRetry: () => true,
      beforeRetry,
      deadLetter,
      isolation: new PoisonIsolation(),
    });
    expect(done).toBe(true);
    expect(lettered).toEqual([
      [103, 'RECORD_TOO_LARGE'],
      [117, 'RECORD_TOO_LARGE'],
      [118, 'RECORD_TOO_LARGE'],
    ]);
    const expected = Array.from({ length: 20 }, (_, i) => 100 + i).filter((o) => ![103, 117, 118].includes(o));
    expect(handled).toEqual(expected);
  });

  it('does not split on retriable failures, nor without a sink', async () => {
    const retriable = scriptedHandler([
      new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'down'),
      new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'down'),
      new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'down'),
    ]);
    const sink = jest.fn(() => Promise.resolve());
    await deliverUntilHandled(batchOf(4), retriable.handler, {
      backoff: backoff(),
      logger: recordingLogger().logger,
      mayRetry: () => true,
      deadLetter: sink,
    });
    expect(retriable.seen.map((b) => b.records.length)).toEqual([4, 4, 4, 4]);
    expect(sink).not.toHaveBeenCalled();

    const { handler, handled } = poisonedHandler(new Set([101]));
    let attempts = 0;
    const done = await deliverUntilHandled(batchOf(4), handler, {
      backoff: backoff(),
      logger: recordingLogger().logger,
      mayRetry: () => ++attempts < 5,
    });
    expect(done).toBe(false);
    expect(handled).toEqual([]);
  });

  it('stops dead-lettering when every record fails (the circuit breaker), and lets go of the batch', async () => {
    const everything = new Set(Array.from({ length: 10 }, (_, i) => 100 + i));
    const { handler } = poisonedHandler(everything);
    const sink = jest.fn(() => Promise.resolve());
    const { logger, lines } = recordingLogger();
    let checks = 0;
    const done = await deliverUntilHandled(batchOf(10), handler, {
      backoff: backoff(),
      logger,
      mayRetry: () => ++checks < 60,
      deadLetter: sink,
      isolation: new PoisonIsolation(3),
    });
    expect(done).toBe(false);
    expect(sink).toHaveBeenCalledTimes(3);
    expect(lines.some((l) => typeof l['isolationStopped'] === 'string')).toBe(true);
  });

  it('retries a dead-letter write that fails, and only then moves on', async () => {
    const { handler, handled } = poisonedHandler(new Set([100]));
    let sinkCalls = 0;
    const sink = (): Promise<void> =>
      ++sinkCalls === 1 ? Promise.reject(new UnavailableError('KAFKA_UNAVAILABLE', 'dlq down')) : Promise.resolve();
    const done = await deliverUntilHandled(batchOf(2), handler, {
      backoff: backoff(),
      logger: recordingLogger().logger,
      mayRetry: () => true,
      deadLetter: sink,
    });
    expect(done).toBe(true);
    expect(sinkCalls).toBe(2);
    expect(handled).toEqual([101]);
  });
});
