import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { ApiKeyAuthenticator } from '../../platform/auth.js';
import type { Subscription } from '../../platform/bus.js';
import { systemClock } from '../../platform/clock.js';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import { partitionForKey } from '../../platform/murmur2.js';
import { makeTempDir, removeTempDir, waitFor } from '../../platform/embedded-log/test-helpers.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import type { LiveMessage } from '../../schemas/api.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { FraudAlert } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { startLiveFeed } from '../app/live-feed.js';
import { covers, parseEventId, recordsBetween } from '../domain/event-id.js';
import { LiveStats } from '../domain/live-stats.js';
import { LIVE_PATH, LiveAlertHub, SUBPROTOCOL } from './live-hub.js';
import { RecordingAccessLog } from '../testing/access-log.js';

/**
 * Resume after a reconnect, end to end inside dashboards: a real embedded durable log (3 partitions of
 * fraud.alerts), the real live feed and LiveAlertHub on a 127.0.0.1 http server, real `ws` clients. Alerts are
 * produced to the log (not handed to the hub), so what a reconnecting client gets is read back from the log.
 */
const PARTITIONS = 3;
const MAX_CATCH_UP = 20;
const key = 'analyst-key-resume-0123456789abcdef';
const authenticator = new ApiKeyAuthenticator([{ role: 'analyst', key }]);

function alertNumber(index: number): FraudAlert {
  const nowMs = Date.now();
  return {
    alertId: `alert-${index}`,
    transactionId: `tx-${index}`,
    decision: 'REVIEW',
    score: 0.81,
    reasons: [{ code: 'R_NEW_DEVICE', source: 'RULE', description: 'New device', weight: 0.4 }],
    channel: 'CARD',
    amountMinor: 1234n,
    currency: 'EUR',
    payerAccountId: `acc-${index % 7}`,
    payeeAccountId: 'acc-shop',
    cardToken: 'tok_resume',
    cardLast4: '0005',
    merchantId: 'm-1',
    country: 'FR',
    modelVersion: 'model-v3',
    eventTimeMs: nowMs - 30,
    receivedAtMs: nowMs - 25,
    raisedAtMs: nowMs - 5,
  };
}

/** A `ws` client that records every message in order. */
class RecordingClient {
  readonly messages: LiveMessage[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.messages.push(JSON.parse(data.toString('utf8')) as LiveMessage));
  }

  static async open(url: string): Promise<RecordingClient> {
    const ws = new WebSocket(url, [SUBPROTOCOL, `bearer.${key}`]);
    const client = new RecordingClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Alert indexes received, in order. */
  get alerts(): number[] {
    return this.messages.flatMap((m) => (m.type === 'alert' ? [Number(m.alert.transactionId.slice(3))] : []));
  }

  /** The eventId of the last message that carried one: what the console would present on reconnect. */
  get lastEventId(): string | undefined {
    const withId = this.messages.findLast((m) => m.type !== 'stats' && m.type !== 'dropped');
    return withId !== undefined && 'eventId' in withId ? withId.eventId : undefined;
  }

  /** Alert indexes before and after the `caught-up` (or `gap`) message. */
  split(): { replayed: number[]; live: number[] } {
    const end = this.messages.findIndex((m) => m.type === 'caught-up' || m.type === 'gap');
    const index = (ms: LiveMessage[]): number[] =>
      ms.flatMap((m) => (m.type === 'alert' ? [Number(m.alert.transactionId.slice(3))] : []));
    return end < 0
      ? { replayed: [], live: index(this.messages) }
      : { replayed: index(this.messages.slice(0, end)), live: index(this.messages.slice(end + 1)) };
  }

  async close(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** The partition of fraud.alerts alert `index` is on: `produce` keys it `card-<index>`. */
const partitionOf = (index: number): number => partitionForKey(`card-${index}`, PARTITIONS);

/** `indexes` split by partition, each keeping its order. */
const byPartition = (indexes: readonly number[]): number[][] =>
  Array.from({ length: PARTITIONS }, (_, p) => indexes.filter((index) => partitionOf(index) === p));

/**
 * The oracle: the problems with what a client got, given the alerts it should have got, in this order. Names
 * every missing, duplicated, unexpected or out-of-order alert; empty when the record is exact.
 *
 * A replay merges the partitions by log timestamp, so what it sends has one order ('as-listed'). Live alerts have
 * only each partition's: the feed reads the partitions with unread records in turn, so alerts on different
 * partitions come interleaved as the feed happened to find them — one that fell behind on a loaded machine finds
 * several at once ('per-partition').
 */
function deliveryProblems(
  received: readonly number[],
  expected: readonly number[],
  order: 'as-listed' | 'per-partition' = 'as-listed',
): string[] {
  const problems: string[] = [];
  const want = new Set(expected);
  const seen = new Set<number>();
  for (const index of received) {
    if (seen.has(index)) problems.push(`alert ${index} received twice`);
    else if (!want.has(index)) problems.push(`alert ${index} not expected`);
    seen.add(index);
  }
  for (const index of expected) if (!seen.has(index)) problems.push(`alert ${index} missing`);
  const inOrder = received.filter((i) => want.has(i));
  const wanted = byPartition(expected);
  const outOfOrder =
    order === 'as-listed'
      ? inOrder.some((index, i) => index !== expected[i])
      : byPartition(inOrder).some((got, p) => got.some((index, i) => index !== wanted[p]![i]));
  if (problems.length === 0 && outOfOrder) problems.push(`out of order: ${inOrder.join(',')}`);
  return problems;
}

/** The event ids of a client's alerts, each strictly past the one before on some partition and behind on none. */
function eventIdsMonotone(client: RecordingClient): boolean {
  const positions = client.messages.flatMap((m) => (m.type === 'alert' ? [parseEventId(m.eventId, PARTITIONS)] : []));
  return positions.every((p, i) => {
    if (!p.ok) return false;
    const previous = positions[i - 1];
    return (
      previous === undefined ||
      (previous.ok && covers(p.position, previous.position) && recordsBetween(previous.position, p.position) > 0)
    );
  });
}

describe('live feed resumes after a reconnect (issue 10)', () => {
  let dir: string;
  let log: EmbeddedLog;
  let hub: LiveAlertHub;
  let server: Server;
  let subscriptions: Subscription[];
  let codec: Codec<FraudAlert>;
  let url: string;
  let produced = 0;
  const clients: RecordingClient[] = [];
  const baseMs = Date.now();

  /** Produces the next `count` alerts to fraud.alerts, one at a time, with increasing log timestamps. */
  async function produce(count: number): Promise<number[]> {
    const indexes: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const index = produced++;
      await log
        .producer()
        .send(Topics.fraudAlerts, [
          { key: `card-${index}`, value: codec.encode(alertNumber(index)), timestampMs: baseMs + index },
        ]);
      indexes.push(index);
    }
    return indexes;
  }

  /** Waits until the hub has published everything on the log. */
  async function hubCaughtUpWithLog(): Promise<void> {
    await waitFor(
      async () => recordsBetween(hub.position, await log.endOffsets(Topics.fraudAlerts)) === 0,
      'the hub to publish every produced alert',
      60_000,
    );
  }

  async function connect(lastEventId?: string): Promise<RecordingClient> {
    const client = await RecordingClient.open(
      lastEventId === undefined ? url : `${url}?lastEventId=${encodeURIComponent(lastEventId)}`,
    );
    clients.push(client);
    return client;
  }

  beforeEach(async () => {
    produced = 0;
    dir = await makeTempDir('vigil-live-resume-');
    log = await EmbeddedLog.open({
      dir,
      topics: [
        { topic: Topics.fraudAlerts, partitions: PARTITIONS },
        { topic: Topics.transactionsScored, partitions: PARTITIONS },
        { topic: Topics.deadLetters, partitions: 1 },
      ],
    });
    const registry = new EmbeddedSchemaRegistry();
    codec = await createCodec<FraudAlert>(registry, Topics.fraudAlerts);
    const stats = new LiveStats({ windowSeconds: 60, throughputSeconds: 10, latencySamples: 64 });
    hub = new LiveAlertHub(
      authenticator,
      new RecordingAccessLog(),
      systemClock,
      silentLogger,
      new MetricsRegistry(),
      stats,
      {
        policy: { capacity: 256, highWaterBytes: 1 << 20, stallLimitMs: 30_000 },
        heartbeatMs: 3_600_000,
        statsIntervalMs: 3_600_000,
        maxClients: 10,
        dedupeCapacity: 10_000,
        maxCatchUpAlerts: MAX_CATCH_UP,
        // Small reads, so a catch-up takes several per partition.
        catchUpReadRecords: 2,
      },
    );
    const deadLetters = await DeadLetterWriter.create(log, registry, 'dashboards', systemClock);
    subscriptions = await startLiveFeed(log, registry, deadLetters, hub, stats, systemClock, {
      alertsGroupId: 'resume-live',
      statsGroupId: 'resume-stats',
    });
    server = createServer((_req, res) => res.writeHead(404).end());
    hub.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${LIVE_PATH}`;
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await hub.close();
    await Promise.all(subscriptions.map((s) => s.close()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await log.close();
    await removeTempDir(dir);
  });

  it('a reconnecting client gets exactly the alerts it missed, in order, then live ones; without the id, or off by one, the oracle reports it', async () => {
    const first = await connect();
    const seen = await produce(10);
    await waitFor(() => first.alerts.length === seen.length, 'the first connection to get 10 alerts', 60_000);
    expect(deliveryProblems(first.alerts, seen, 'per-partition')).toEqual([]);
    const lastEventId = first.lastEventId!;
    const offByOne = first.messages.filter((m) => m.type === 'alert').at(-2)!;
    await first.close();
    await waitFor(() => hub.clientCount === 0, 'the hub to see the disconnect');

    const missed = await produce(15);
    await hubCaughtUpWithLog();

    const resumed = await connect(lastEventId);
    const withoutId = await connect();
    const planted = await connect((offByOne as { eventId: string }).eventId);
    // Produced while the catch-ups may still be running: they must come after, once each.
    const live = await produce(5);
    await waitFor(
      () => [resumed, withoutId, planted].every((c) => c.alerts.filter((i) => live.includes(i)).length === live.length),
      'every client to get the live alerts',
      60_000,
    );

    // The resumed client: exactly the missed alerts (in production order: the merge follows log timestamps),
    // a caught-up notice, then the live ones.
    expect(resumed.messages[0]).toMatchObject({ type: 'hello', resuming: true, eventId: lastEventId });
    expect(resumed.messages.find((m) => m.type === 'caught-up')).toMatchObject({ replayed: missed.length });
    expect(resumed.split().replayed).toEqual(missed);
    expect(deliveryProblems(resumed.split().live, live, 'per-partition')).toEqual([]);
    expect(deliveryProblems(resumed.alerts, [...missed, ...live], 'per-partition')).toEqual([]);
    expect(eventIdsMonotone(resumed)).toBe(true);
    expect(resumed.messages.some((m) => m.type === 'gap' || m.type === 'dropped')).toBe(false);

    // Negative controls: the same oracle catches a loss and a duplicate.
    expect(withoutId.messages[0]).toMatchObject({ type: 'hello', resuming: false });
    expect(deliveryProblems(withoutId.alerts, [...missed, ...live])).toEqual(missed.map((i) => `alert ${i} missing`));
    // Resumed from the next-to-last alert the first connection got: the last one it got comes again.
    expect(deliveryProblems(planted.alerts, [...missed, ...live], 'per-partition')).toEqual([
      `alert ${first.alerts.at(-1)} not expected`,
    ]);
  });

  it('a client that missed more than the bound gets an explicit gap, then live alerts; a malformed id too', async () => {
    const first = await connect();
    await produce(3);
    await waitFor(() => first.alerts.length === 3, 'the first connection to get 3 alerts', 60_000);
    const lastEventId = first.lastEventId!;
    await first.close();
    await waitFor(() => hub.clientCount === 0, 'the hub to see the disconnect');

    const missed = await produce(MAX_CATCH_UP + 5);
    await hubCaughtUpWithLog();
    const resumed = await connect(lastEventId);
    const malformed = await connect('v1-not-an-id');
    await waitFor(
      () => [resumed, malformed].every((c) => c.messages.some((m) => m.type === 'gap')),
      'both clients to be told of a gap',
      60_000,
    );
    const live = await produce(4);
    await waitFor(
      () => [resumed, malformed].every((c) => c.alerts.length === live.length),
      'both clients to get the live alerts',
      60_000,
    );

    const gap = resumed.messages.find((m) => m.type === 'gap');
    expect(gap).toMatchObject({ type: 'gap', reason: 'too-many-missed', missedAtMost: missed.length });
    expect(resumed.split().replayed).toEqual([]);
    expect(deliveryProblems(resumed.split().live, live, 'per-partition')).toEqual([]);
    expect(malformed.messages.find((m) => m.type === 'gap')).toMatchObject({
      reason: 'unknown-event-id',
      missedAtMost: null,
    });
    expect(malformed.split().replayed).toEqual([]);
    expect(deliveryProblems(malformed.split().live, live, 'per-partition')).toEqual([]);

    // The gap's eventId is a valid resume point: reconnecting from it after more alerts replays just those.
    await resumed.close();
    await waitFor(() => hub.clientCount === 1, 'the hub to see the disconnect');
    const after = await produce(2);
    await hubCaughtUpWithLog();
    const again = await connect(resumed.lastEventId);
    await waitFor(() => again.messages.some((m) => m.type === 'caught-up'), 'the catch-up', 60_000);
    expect(again.split().replayed).toEqual(after);
  });

  it('live alerts the feed finds together (it fell behind) come in each partition’s order; a swap within one is reported', async () => {
    const client = await connect();
    // One append of 12 alerts: the feed finds them all unread at once, as a loaded machine's feed finds a burst.
    const burst = Array.from({ length: 12 }, (_, i) => produced + i);
    produced += burst.length;
    await log.producer().send(
      Topics.fraudAlerts,
      burst.map((index) => ({
        key: `card-${index}`,
        value: codec.encode(alertNumber(index)),
        timestampMs: baseMs + index,
      })),
    );
    await waitFor(() => client.alerts.length === burst.length, 'the client to get the burst', 60_000);
    expect(deliveryProblems(client.alerts, burst, 'per-partition')).toEqual([]);
    expect(eventIdsMonotone(client)).toBe(true);
    // The burst spans every partition (keys card-0…card-11).
    expect(byPartition(burst).map((alerts) => alerts.length)).toEqual([1, 6, 5]);

    // Negative control: two alerts of one partition swapped are out of order.
    const [a, b] = byPartition(burst).find((alerts) => alerts.length >= 2)!;
    const swapped = client.alerts.map((index) => (index === a ? b! : index === b ? a! : index));
    expect(deliveryProblems(swapped, burst, 'per-partition')).toEqual([`out of order: ${swapped.join(',')}`]);
  });
});
