/**
 * What idempotency across ingest replicas costs per request, for RELIABILITY.md (a command, not a test; needs the
 * local broker, `npm run services:up`):
 *
 *   npx tsx bench/idempotency-replicas.bench.ts      (BENCH_REQUESTS per phase, default 300; BENCH_ROUNDS, default 3)
 *
 * Two replicas (Ingestors, each with its own KafkaBus client) on unique topics; rounds alternate the claims topic
 * and a file journal each (the store before it), so both see the same machine load. Per round and store, one
 * request at a time: new ids on replica a (accepted), the same again on a (a duplicate a answers), the same on b
 * (with claims a duplicate b answers; with a journal each, b wrongly accepts them again — the inconsistency).
 */
import { cpus, loadavg } from 'node:os';
import { readInt } from '../platform/config.js';
import { KafkaTestContext, requireBroker } from '../platform/kafka/test-helpers.js';
import { type Replica, cluster, request } from '../ingest/testing/replicas.js';
import { formatLatencies, summarizeLatencies } from './stats.js';

const requests = readInt(process.env, 'BENCH_REQUESTS', 300, { min: 10, max: 100_000 });
const rounds = readInt(process.env, 'BENCH_ROUNDS', 3, { min: 1, max: 100 });

/** Latencies in ms of `ids` sent one at a time to `replica`, and how they were answered. */
async function timed(replica: Replica, ids: readonly string[]) {
  const latencies: number[] = [];
  const answers: Record<string, number> = {};
  for (const id of ids) {
    const started = performance.now();
    const [result] = await replica.accept(request(id));
    latencies.push(Math.round((performance.now() - started) * 10) / 10);
    answers[result!.status] = (answers[result!.status] ?? 0) + 1;
  }
  return { latencies, answers };
}

async function main(): Promise<void> {
  await requireBroker();
  const kafka = new KafkaTestContext();
  const phases = new Map<string, number[]>();
  const answers = new Map<string, Record<string, number>>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const store of ['claims', 'journal'] as const) {
        const c = await cluster(kafka);
        try {
          const a = await c.replica('a', store);
          const b = await c.replica('b', store);
          await timed(a, ['warm-up-1', 'warm-up-2', 'warm-up-3']);
          const ids = Array.from({ length: requests }, (_, i) => `bench-${round}-${i}`);
          for (const [phase, replica] of [
            ['new on a', a],
            ['repeat on a', a],
            ['repeat on b', b],
          ] as const) {
            const measured = await timed(replica, ids);
            const key = `${store}: ${phase}`;
            phases.set(key, [...(phases.get(key) ?? []), ...measured.latencies]);
            const total = answers.get(key) ?? {};
            for (const [status, n] of Object.entries(measured.answers)) total[status] = (total[status] ?? 0) + n;
            answers.set(key, total);
          }
        } finally {
          await c.close();
          await kafka.cleanup();
        }
      }
    }
  } finally {
    await kafka.cleanup();
  }
  console.log(
    `${new Date().toISOString()} ${cpus().length} cores; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const [key, latencies] of phases)
    console.log(
      `${key.padEnd(24)} ${formatLatencies(summarizeLatencies(latencies))} ${JSON.stringify(answers.get(key))}`,
    );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
