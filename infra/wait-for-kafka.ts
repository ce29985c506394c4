/**
 * `node --import tsx infra/wait-for-kafka.ts <host:port> <pid> <timeoutSeconds>`: exits 0 once the broker
 * answers a metadata request (a TCP connect alone succeeds before KRaft has elected its controller), 1 if the
 * process `pid` dies or the timeout passes. Used by infra/services.sh.
 */
import { Kafka, logLevel } from 'kafkajs';

const [broker = '127.0.0.1:9092', pidText = '0', timeoutText = '120'] = process.argv.slice(2);
const pid = Number(pidText);
const deadline = Date.now() + Number(timeoutText) * 1000;

function alive(): boolean {
  if (pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function metadataAnswered(): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'vigil-wait-for-kafka',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    // The group coordinator must be up too, or the first consumer in a test waits for it.
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  while (Date.now() < deadline) {
    if (!alive()) {
      console.error(`[services] kafka: process ${pid} exited before becoming ready`);
      return 1;
    }
    if (await metadataAnswered()) return 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  console.error(`[services] kafka: no metadata answer from ${broker} within ${timeoutText}s`);
  return 1;
}

process.exitCode = await main();
