/** Helpers for the Kafka adapter's integration tests (not a test file itself). */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import type { Bus, BusRecord } from '../bus.js';
import { createLogger, silentLogger, type Logger } from '../logger.js';
import { KafkaBus, type KafkaBusOptions } from './kafka-bus.js';

export { waitFor } from '../embedded-log/test-helpers.js';

export const brokers = (process.env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Log kafkajs and adapter lines while debugging a test: VIGIL_TEST_LOG=debug. */
export const testLogger: Logger = process.env.VIGIL_TEST_LOG
  ? createLogger({ level: process.env.VIGIL_TEST_LOG as 'debug' })
  : silentLogger;

/** A topic/group name no other test (or earlier run) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

function tcpReachable(hostPort: string, timeoutMs: number): Promise<boolean> {
  const [host = '127.0.0.1', port = '9092'] = hostPort.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** Fails the test (never skips it) when the broker started by `npm run services:up` is not there. */
export async function requireBroker(): Promise<void> {
  if (!(await tcpReachable(brokers[0]!, 2000))) {
    throw new Error(
      `Kafka is not reachable at ${brokers.join(',')}: run \`npm run services:up\` (or infra/services.sh up kafka) before the integration tests`,
    );
  }
}

/** What infra/services.sh writes to `<services dir>/kafka/sasl-ssl.json` about the broker's SASL_SSL listener. */
export interface SaslSslListener {
  readonly brokers: readonly string[];
  readonly caFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly mechanism: 'scram-sha-512';
  readonly username: string;
  readonly passwordFile: string;
}

/**
 * The local broker's SASL_SSL listener, as `infra/services.sh up kafka` described it. Fails the test (never skips
 * it) when the file is missing or nothing listens there, saying what to run.
 */
export async function requireSaslSslListener(): Promise<SaslSslListener> {
  const servicesDir = process.env.VIGIL_SERVICES_DIR ?? join(repoRoot, '.services');
  const file = join(servicesDir, 'kafka', 'sasl-ssl.json');
  if (!existsSync(file))
    throw new Error(
      `${file} is missing: the broker's SASL_SSL listener is set up by \`npm run services:up\` (or infra/services.sh up kafka)`,
    );
  const listener = JSON.parse(readFileSync(file, 'utf8')) as SaslSslListener;
  if (!(await tcpReachable(listener.brokers[0]!, 2000)))
    throw new Error(
      `nothing listens on ${listener.brokers[0]} (from ${file}): a broker started before the SASL_SSL listener existed ` +
        'must be restarted (infra/services.sh down kafka, then up kafka)',
    );
  return listener;
}

/**
 * Opens KafkaBus instances with test-friendly timeouts and closes them, and deletes the topics and groups
 * the test registered, in `cleanup()` (call it from afterEach).
 */
export class KafkaTestContext {
  private readonly buses: KafkaBus[] = [];
  private readonly topics = new Set<string>();
  private readonly groups = new Set<string>();

  async bus(options: Partial<KafkaBusOptions> = {}): Promise<KafkaBus> {
    const bus = await KafkaBus.connect({
      brokers,
      clientId: uniqueName('vigil-test'),
      logger: testLogger,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 300,
      rebalanceTimeoutMs: 10_000,
      maxWaitTimeMs: 100,
      redeliveryInitialBackoffMs: 10,
      redeliveryMaxBackoffMs: 100,
      ...options,
    });
    this.buses.push(bus);
    return bus;
  }

  /** A unique topic name, deleted at cleanup. */
  topic(prefix = 'vigil-test'): string {
    const name = uniqueName(prefix);
    this.topics.add(name);
    return name;
  }

  /** A unique group id, deleted at cleanup. */
  group(prefix = 'vigil-test-group'): string {
    const name = uniqueName(prefix);
    this.groups.add(name);
    return name;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.buses.splice(0).map((bus) => bus.close()));
    const admin = new Kafka({ clientId: 'vigil-test-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
    try {
      await admin.connect();
      if (this.groups.size > 0) await admin.deleteGroups([...this.groups]).catch(() => undefined);
      // Only topics that exist: kafkajs retries the deletion of a missing one for seconds.
      const existing = new Set(await admin.listTopics());
      const topics = [...this.topics].filter((topic) => existing.has(topic));
      if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    } finally {
      this.groups.clear();
      this.topics.clear();
      await admin.disconnect();
    }
  }
}

/** Every record of a partition from its start, read in pages. */
export async function readAll(bus: Bus, topic: string, partition: number, pageSize = 1000): Promise<BusRecord[]> {
  const end = (await bus.endOffsets(topic))[partition]!;
  const records: BusRecord[] = [];
  while (records.length < end) records.push(...(await bus.read(topic, partition, records.length, pageSize)));
  return records;
}

/**
 * Runs infra/services.sh (e.g. `down kafka`, `kill kafka`, `up kafka`) with this process's environment (so
 * VIGIL_SERVICES_DIR and the port variables choose which services) and resolves when it exits 0.
 */
export async function services(...args: string[]): Promise<void> {
  await promisify(execFile)('bash', [join(repoRoot, 'infra', 'services.sh'), ...args], {
    cwd: repoRoot,
    timeout: 180_000,
  });
}
