import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import { makeTempDir, removeTempDir } from '../../platform/embedded-log/test-helpers.js';
import { OutboxTopics } from '../../schemas/topics.js';
import type { EmailSubscriptionRecord } from '../domain/email.js';
import type { EndpointRecord } from '../domain/endpoints.js';
import { EmailSubscriptionStore } from './email-subscription-store.js';
import { EndpointStore } from './endpoint-store.js';

/**
 * The endpoint and e-mail subscription stores list oldest first. Registrations inside one millisecond share their
 * `createdAtMs` (a fast machine makes them); the ids here sort the other way round from the order they were
 * registered in, so a listing that broke the tie by id fails.
 */
const AT_MS = Date.UTC(2026, 11, 7, 12);
const IDS = ['c', 'a', 'b'];

const endpoint = (id: string, status: EndpointRecord['status'] = 'enabled'): EndpointRecord => ({
  id: `we_${id}`,
  url: `https://receiver.example/${id}`,
  events: ['alert.raised'],
  description: null,
  status,
  disabledReason: status === 'disabled' ? 'gone' : null,
  createdAtMs: AT_MS,
  disabledAtMs: status === 'disabled' ? AT_MS + 1 : null,
  sealedSecret: 'sealed',
});

const subscription = (id: string, status: EmailSubscriptionRecord['status'] = 'active'): EmailSubscriptionRecord => ({
  id: `es_${id}`,
  email: `${id}@bank.example`,
  immediateDeclineAbove: null,
  digestEveryMs: 3_600_000,
  status,
  createdAtMs: AT_MS,
  endedAtMs: status === 'active' ? null : AT_MS + 1,
});

describe('notifier stores list in the order things were registered', () => {
  let dir: string;
  let log: EmbeddedLog;

  beforeEach(async () => {
    dir = await makeTempDir('vigil-notifier-stores-');
    log = await EmbeddedLog.open({
      dir,
      topics: [
        { topic: OutboxTopics.webhookEndpoints, partitions: 1 },
        { topic: OutboxTopics.emailSubscriptions, partitions: 1 },
      ],
    });
  });
  afterEach(async () => {
    await log.close();
    await removeTempDir(dir);
  });

  it('endpoints: registration order through a tie in createdAtMs, an update and a reopen; a removal leaves the rest', async () => {
    const store = await EndpointStore.open(log);
    for (const id of IDS) await store.put(endpoint(id));
    await store.put(endpoint('c', 'disabled'));
    const listed = (s: EndpointStore) => s.list().map((e) => [e.id, e.status]);
    const expected = [
      ['we_c', 'disabled'],
      ['we_a', 'enabled'],
      ['we_b', 'enabled'],
    ];
    expect(listed(store)).toEqual(expected);
    expect(listed(await EndpointStore.open(log))).toEqual(expected);
    await store.remove('we_a');
    expect(listed(store)).toEqual([expected[0], expected[2]]);
  });

  it('e-mail subscriptions: the same', async () => {
    const store = await EmailSubscriptionStore.open(log);
    for (const id of IDS) await store.put(subscription(id));
    await store.put(subscription('c', 'unsubscribed'));
    const listed = (s: EmailSubscriptionStore) => s.list().map((e) => [e.id, e.status]);
    const expected = [
      ['es_c', 'unsubscribed'],
      ['es_a', 'active'],
      ['es_b', 'active'],
    ];
    expect(listed(store)).toEqual(expected);
    expect(listed(await EmailSubscriptionStore.open(log))).toEqual(expected);
  });
});
