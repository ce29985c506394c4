import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bus, OutgoingRecord, RecordBatch } from '../bus.js';
import { isRetriable } from '../errors.js';
import { brokers, KafkaTestContext, readAll, requireBroker, services, waitFor } from './test-helpers.js';

jest.setTimeout(180_000);

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');

interface Acknowledgement {
  readonly id: number;
  readonly partition: number;
  readonly offset: number;
}

function payload(id: number): OutgoingRecord {
  return {
    key: `account-${id % 53}`,
    value: Buffer.from(`record ${id} `.padEnd(300, String.fromCharCode(97 + (id % 26)))),
    headers: { id: String(id) },
  };
}

/** One problem per acknowledged record that is missing from its acknowledged position or differs from what was sent. */
async function findLostAcknowledgements(bus: Bus, topic: string, acks: readonly Acknowledgement[]): Promise<string[]> {
  const partitions = await bus.partitionCount(topic);
  const stored = await Promise.all(
    Array.from({ length: partitions }, (_, partition) => readAll(bus, topic, partition, 5000)),
  );
  const problems: string[] = [];
  for (const ack of acks) {
    const record = stored[ack.partition]?.[ack.offset];
    const expected = payload(ack.id);
    if (record === undefined) problems.push(`id ${ack.id}: nothing at ${ack.partition}/${ack.offset}`);
    else if (
      record.offset !== ack.offset ||
      record.key !== expected.key ||
      !record.value.equals(expected.value) ||
      record.headers.id !== String(ack.id)
    ) {
      problems.push(`id ${ack.id}: record at ${ack.partition}/${ack.offset} differs from what was acknowledged`);
    }
  }
  return problems;
}

describe('KafkaBus under failures', () => {
  const ctx = new KafkaTestContext();

  beforeAll(requireBroker);
  afterEach(() => ctx.cleanup());

  it('loses nothing acknowledged to a producer across a broker restart, and the consumer catches up', async () => {
    // Retries outlast a restart (~5 s): sends in flight wait for the broker instead of failing.
    const bus = await ctx.bus({ producerRetries: 40, sendTimeoutMs: 10_000 });
    const topic = ctx.topic('restart');
    await bus.ensureTopics([{ topic, partitions: 4 }]);
    const handled = new Set<string>();
    await bus.subscribe({ groupId: ctx.group(), topics: [topic], maxBatchRecords: 50 }, (batch: RecordBatch) => {
      for (const r of batch.records) handled.add(r.headers.id!);
      return Promise.resolve();
    });

    const acks: Acknowledgement[] = [];
    /** Why sends were refused, with counts: shows up in the failure message if acknowledgements stop. */
    const refusals = new Map<string, number>();
    let writing = true;
    let nextId = 0;
    const writer = (async () => {
      while (writing) {
        const ids = Array.from({ length: 10 }, () => nextId++);
        try {
          const positions = await bus.producer().send(topic, ids.map(payload));
          positions.forEach((p, i) => acks.push({ id: ids[i]!, partition: p.partition, offset: p.offset }));
        } catch (error) {
          // Not acknowledged, so not promised: the caller would refuse upstream and retry.
          if (!isRetriable(error)) throw error;
          const reason = error instanceof Error ? error.message : String(error);
          refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
          // A send refused at once must not turn this loop into a microtask spin that starves the timers.
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    })();

    let restarted = false;
    try {
      await waitFor(() => acks.length >= 500, '500 acknowledgements before the restart', 30_000);
      await services('down', 'kafka');
      const acksWhileDown = acks.length;
      await services('up', 'kafka');
      restarted = true;
      await waitFor(
        () => acks.length >= acksWhileDown + 500,
        '500 more acknowledgements after the restart',
        90_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; refused sends: ${JSON.stringify([...refusals])}`);
      });
    } finally {
      writing = false;
      if (!restarted) await services('up', 'kafka');
    }
    await writer;

    expect(await findLostAcknowledgements(bus, topic, acks)).toEqual([]);
    await waitFor(
      () => acks.every((ack) => handled.has(String(ack.id))),
      'the consumer handled every acknowledged record',
      90_000,
    );

    // The check can fail: a forged acknowledgement and one past the end are both reported.
    const forged = [
      { id: acks[0]!.id + 1, partition: acks[0]!.partition, offset: acks[0]!.offset },
      { id: 0, partition: 0, offset: 1_000_000 },
    ];
    expect(await findLostAcknowledgements(bus, topic, forged)).toHaveLength(2);
  });

  it('connects a producer replaced while the broker was away once it is back, instead of refusing every send', async () => {
    // Few retries, so the replacement's own connect gives up while the broker is still down.
    const bus = await ctx.bus({ producerRetries: 3, sendTimeoutMs: 2000 });
    const topic = ctx.topic('replaced');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    await bus.producer().send(topic, [payload(0)]);
    let restarted = false;
    try {
      await services('kill', 'kafka');
      // Not acknowledged in time: the producer is replaced while nothing listens, and the replacement's connect fails.
      await expect(bus.producer().send(topic, [payload(1)])).rejects.toThrow(/producer replaced/);
      // Waits for that failed connect before it is refused itself.
      await expect(bus.producer().send(topic, [payload(2)])).rejects.toThrow();
      await services('up', 'kafka');
      restarted = true;
      let lastRefusal = '';
      await waitFor(
        () =>
          bus
            .producer()
            .send(topic, [payload(3)])
            .then(
              () => true,
              (error: unknown) => {
                lastRefusal = error instanceof Error ? error.message : String(error);
                return false;
              },
            ),
        'a send acknowledged after the restart',
        60_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; last refusal: ${lastRefusal}`);
      });
    } finally {
      if (!restarted) await services('up', 'kafka');
    }
  });

  it('hands the partitions of a member killed with SIGKILL to the survivor; every record is handled (at-least-once)', async () => {
    const bus = await ctx.bus();
    const topic = ctx.topic('kill');
    const group = ctx.group();
    await bus.ensureTopics([{ topic, partitions: 4 }]);

    const { NODE_OPTIONS: _jestNodeOptions, ...env } = process.env;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'crash-member.ts'), topic, group, brokers.join(',')],
      { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    let childAlive = true;
    void exited.then(() => (childAlive = false));
    try {
      await waitFor(
        () => {
          if (!childAlive) throw new Error(`crash member exited early: ${stderr}`);
          return stdout.includes('joined\n');
        },
        'the child joined the group',
        30_000,
      );

      const survivor = new Set<string>();
      const survivorPartitions = new Set<number>();
      await bus.subscribe({ groupId: group, topics: [topic], maxBatchRecords: 10 }, (batch) => {
        survivorPartitions.add(batch.partition);
        for (const r of batch.records) survivor.add(r.value.toString());
        return Promise.resolve();
      });
      const sent: string[] = [];
      const send = async (count: number): Promise<void> => {
        const values = Array.from({ length: count }, (_, i) => `v${sent.length + i}`);
        await bus.producer().send(
          topic,
          values.map((v, i) => ({ key: `key-${sent.length + i}`, value: Buffer.from(v) })),
        );
        sent.push(...values);
      };
      const handledByChild = (): Set<string> =>
        new Set([...stdout.matchAll(/^handled (\S+) \d+$/gm)].map((m) => m[1]!));
      await send(200);
      await waitFor(
        () => sent.every((v) => survivor.has(v) || handledByChild().has(v)),
        'the first records handled by the two members',
        30_000,
      );
      expect(handledByChild().size).toBeGreaterThan(0);
      expect(survivorPartitions.size).toBeLessThan(4);

      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      // Only lines complete when the process died count as handled.
      stdout = stdout.slice(0, stdout.lastIndexOf('\n') + 1);
      await send(200);
      // The dead member's partitions move only after its session times out (6 s here).
      await waitFor(
        () => sent.every((v) => survivor.has(v) || handledByChild().has(v)),
        'every record handled after the kill',
        60_000,
      );
      expect(survivorPartitions.size).toBe(4);
      expect(sent.filter((v) => !survivor.has(v) && !handledByChild().has(v))).toEqual([]);
    } finally {
      if (childAlive) child.kill('SIGKILL');
    }
  });
});
