import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';
import { metricSum, waitFor } from '../embedded/testing.js';
import type { BusRecord } from '../platform/bus.js';
import { IngestStateTopics, PersonalDataTopics, Topics } from '../schemas/topics.js';

/**
 * Runs distributed-mode services as child processes on this machine, for the distributed end-to-end test and
 * benchmark: each started with `node --import tsx distributed/main.ts <stages>`, ready once it logs
 * "service started" with its URL (an info line: VIGIL_LOG_LEVEL must be info or debug).
 */
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
}

export interface ServiceOptions {
  /**
   * Modules loaded with `node --import` before the service (after tsx), by absolute path: how a test runs one
   * service with a planted fault (e.g. scoring/testing/no-op-reserve.preload.ts) that no production start loads.
   */
  readonly preload?: readonly string[];
}

/**
 * Starts `stages` as one service process with `env` (NODE_OPTIONS cleared); resolves with its URL once it logged
 * "service started", rejects with the end of its log if it exits first.
 */
export function startService(
  stages: readonly string[],
  env: NodeJS.ProcessEnv,
  options: ServiceOptions = {},
): Promise<ServiceProcess> {
  const preload = (options.preload ?? []).flatMap((path) => ['--import', pathToFileURL(path).href]);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...preload, join(repoRoot, 'distributed/main.ts'), ...stages],
    {
      cwd: repoRoot,
      env: { ...env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      const line = log.split('\n').find((l) => l.includes('"service started"'));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`${stages.join('+')} exited with ${code}: ${log.slice(-3000)}`)));
  });
}

/** SIGTERM (graceful: commits what was processed), SIGKILL after `graceMs`; resolves with the exit code. */
export function stopService(service: ServiceProcess, graceMs = 30_000): Promise<number | null> {
  return new Promise((resolve) => {
    // Already gone (exited, or killed by a signal, which leaves exitCode null).
    if (service.child.exitCode !== null || service.child.signalCode !== null) return resolve(service.child.exitCode);
    // A service that does not finish its graceful stop in time is killed, so no test leaves a process behind
    // (one that did kept its consumer groups alive and broke the next run's broker reset).
    const kill = setTimeout(() => service.child.kill('SIGKILL'), graceMs);
    service.child.once('exit', (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    service.child.kill('SIGTERM');
  });
}

/**
 * Deletes Vigil's topics and consumer groups on a test broker, so a run starts from an empty log. Only for
 * brokers used by tests and benchmarks: it destroys data.
 */
export async function resetTestBroker(brokers: readonly string[]): Promise<void> {
  const admin = new kafkajs.Kafka({
    brokers: [...brokers],
    clientId: 'vigil-test-reset',
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect().catch((error: unknown) => {
    throw new Error(`Kafka is not reachable at ${brokers.join(',')}: run \`npm run services:up\` (${String(error)})`);
  });
  try {
    const vigilTopics: string[] = [
      ...Object.values(Topics),
      ...Object.values(IngestStateTopics),
      ...Object.values(PersonalDataTopics),
    ];
    const ours = (await admin.listTopics()).filter((t) => vigilTopics.includes(t));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => ['scoring', 'ledger-sink', 'dashboards-live', 'dashboards-stats'].includes(g));
    if (groups.length > 0) await admin.deleteGroups(groups);
    await waitFor(
      'old topics deleted',
      async () => ((await admin.listTopics()).some((t) => ours.includes(t)) ? undefined : true),
      30_000,
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Deletes every topic and consumer group under `namespace` (VIGIL_KAFKA_NAMESPACE) on a test broker: how a test
 * that ran its services in a namespace of its own cleans up without touching anyone else's.
 */
export async function deleteTestNamespace(brokers: readonly string[], namespace: string): Promise<void> {
  const prefix = `${namespace}.`;
  const admin = new kafkajs.Kafka({
    brokers: [...brokers],
    clientId: 'vigil-test-cleanup',
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups);
  } finally {
    await admin.disconnect();
  }
}

/** Peak and current resident memory of a running child process in MiB (Linux /proc), or undefined once it is gone. */
export function residentMemoryMiB(pid: number | undefined): { peakMiB: number; currentMiB: number } | undefined {
  if (pid === undefined) return undefined;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakMiB: kib('VmHWM') / 1024, currentMiB: kib('VmRSS') / 1024 };
}

/** The sum of `vigil_consumer_lag` over a service's consumer groups, from its /metrics (NaN before it has any). */
export async function consumerLag(service: ServiceProcess, adminKey: string): Promise<number> {
  const text = await (
    await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })
  ).text();
  if (!/^vigil_consumer_lag\{/m.test(text)) return Number.NaN;
  return metricSum(text, 'vigil_consumer_lag');
}

/**
 * Every record of `topic` under `namespace`, read from the start up to `ends` (per partition, as seen by the
 * caller) by one consumer in a throwaway group of the namespace; in offset order within each partition. Done when
 * each partition's highest offset read reaches its end − 1; fails after `timeoutMs` naming how far it got.
 */
export async function readNamespacedTopic(
  brokers: readonly string[],
  namespace: string,
  topic: string,
  ends: readonly number[],
  timeoutMs = 120_000,
): Promise<BusRecord[]> {
  const kafka = new kafkajs.Kafka({
    brokers: [...brokers],
    clientId: `${namespace}-reader`,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `${namespace}.reader-${randomUUID().slice(0, 8)}`, maxWaitTimeInMs: 200 });
  const records: BusRecord[] = [];
  const last = ends.map(() => -1);
  let complete = ends.every((end) => end === 0);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [`${namespace}.${topic}`], fromBeginning: true });
    await consumer.run({
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset <= last[batch.partition]! || offset >= ends[batch.partition]!) continue;
          last[batch.partition] = offset;
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {}))
            if (value !== undefined) headers[name] = value.toString();
          records.push({
            topic,
            partition: batch.partition,
            offset,
            key: message.key?.toString('utf8') ?? null,
            value: message.value ?? Buffer.alloc(0),
            headers,
            timestampMs: Number(message.timestamp),
          });
        }
        complete = ends.every((end, p) => last[p]! >= end - 1);
        return Promise.resolve();
      },
    });
    await waitFor(`all of ${topic} read`, () => (complete ? true : undefined), timeoutMs).catch((error: unknown) => {
      throw new Error(`${String(error)}; read up to ${JSON.stringify(last)} of ends ${JSON.stringify(ends)}`);
    });
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
