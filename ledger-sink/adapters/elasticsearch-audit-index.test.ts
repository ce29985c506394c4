import { type Client, errors, type estypes } from '@elastic/elasticsearch';
import { isRetriable } from '../../platform/errors.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { scoredTransaction } from '../testing/fixtures.js';
import { ElasticsearchAuditIndex } from './elasticsearch-audit-index.js';

/** The adapter's retry and outcome rules against a scripted `_bulk` (no network). */

type Reply = ((ids: string[]) => Record<string, number>) | Error;

/** A client whose `bulk` answers each call with the next reply: a status per `_id`, or a thrown error. */
function scriptedClient(replies: Reply[]): { client: Client; calls: string[][] } {
  const calls: string[][] = [];
  const bulk = (request: { operations: Array<{ create?: { _id: string } }> }): Promise<estypes.BulkResponse> => {
    const ids = request.operations.flatMap((op) => (op.create ? [op.create._id] : []));
    calls.push(ids);
    const reply = replies[Math.min(calls.length - 1, replies.length - 1)]!;
    if (reply instanceof Error) return Promise.reject(reply);
    const statuses = reply(ids);
    return Promise.resolve({
      took: 1,
      errors: true,
      items: ids.map((id) => {
        const status = statuses[id] ?? 201;
        return {
          create: {
            _index: 'x',
            _id: id,
            status,
            ...(status >= 300 ? { error: { type: errorType(status), reason: `status ${status}` } } : {}),
          },
        };
      }),
    });
  };
  return { client: { bulk, close: () => Promise.resolve() } as unknown as Client, calls };
}

const errorType = (status: number): string =>
  status === 409
    ? 'version_conflict_engine_exception'
    : status === 429
      ? 'es_rejected_execution_exception'
      : status >= 500
        ? 'unavailable_shards_exception'
        : 'document_parsing_exception';

function adapter(client: Client, maxAttempts = 4) {
  const metrics = new MetricsRegistry();
  const delays: number[] = [];
  const index = new ElasticsearchAuditIndex(
    client,
    {
      indexPrefix: 'vigil-audit-v1',
      maxAttempts,
      backoffMs: 100,
      maxBackoffMs: 300,
      bulkDocuments: 1000,
      nowMs: () => 1_764_000_100_000,
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
      random: () => 0.999,
    },
    silentLogger,
    metrics,
  );
  return { index, delays, retries: () => metrics.counter('vigil_ledger_audit_index_retries_total', '').get() };
}

const decisions = [1, 2, 3].map((i) => scoredTransaction(i));
const [a, b, c] = decisions.map((d) => d.transaction.transactionId) as [string, string, string];

describe('ElasticsearchAuditIndex (scripted bulk)', () => {
  it('given a replay, when a create meets an existing document (409), then it counts as already indexed, not a failure', async () => {
    const { client } = scriptedClient([() => ({ [a]: 409, [b]: 409 })]);
    const { index } = adapter(client);
    expect(await index.index(decisions)).toEqual({ indexed: 1, alreadyIndexed: 2, rejected: [] });
  });

  it('given a 429 and a 503 item, when indexing, then only those are resent, with growing bounded delays', async () => {
    const { client, calls } = scriptedClient([() => ({ [a]: 429, [c]: 503 }), () => ({ [c]: 429 }), () => ({})]);
    const { index, delays, retries } = adapter(client);
    expect(await index.index(decisions)).toEqual({ indexed: 3, alreadyIndexed: 0, rejected: [] });
    expect(calls).toEqual([[a, b, c], [a, c], [c]]);
    expect(delays).toEqual([100, 200]);
    expect(retries()).toBe(2);
  });

  it('given a document that breaks the mapping, when indexing, then it is returned as rejected and never retried', async () => {
    const { client, calls } = scriptedClient([() => ({ [b]: 400 })]);
    const { index } = adapter(client);
    expect(await index.index(decisions)).toEqual({
      indexed: 2,
      alreadyIndexed: 0,
      rejected: [{ transactionId: b, status: 400, type: 'document_parsing_exception', reason: 'status 400' }],
    });
    expect(calls).toHaveLength(1);
  });

  it('given an unreachable cluster, when indexing, then it retries up to maxAttempts and rejects retriably', async () => {
    const { client, calls } = scriptedClient([new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9200')]);
    const { index, delays } = adapter(client, 4);
    const failure = await index.index(decisions).catch((error: unknown) => error);
    expect(isRetriable(failure)).toBe(true);
    expect(failure).toMatchObject({ code: 'AUDIT_INDEX_UNAVAILABLE' });
    expect(calls).toHaveLength(4);
    expect(delays).toEqual([100, 200, 300]); // capped at maxBackoffMs
  });

  it('given items that stay overloaded, when attempts run out, then it rejects retriably rather than drop them', async () => {
    const { client, calls } = scriptedClient([() => ({ [c]: 429 })]);
    const { index } = adapter(client, 3);
    await expect(index.index(decisions)).rejects.toMatchObject({ code: 'AUDIT_INDEX_UNAVAILABLE', retriable: true });
    expect(calls).toEqual([[a, b, c], [c], [c]]);
  });

  it('sends one document per transaction id, in the monthly index of its event time', async () => {
    const operations: unknown[] = [];
    const client = {
      bulk: (request: { operations: unknown[] }) => {
        operations.push(...request.operations);
        return Promise.resolve({ took: 1, errors: false, items: [{ create: { _index: 'x', status: 201 } }] });
      },
    } as unknown as Client;
    const { index } = adapter(client);
    const first = scoredTransaction(7, { eventTimeMs: Date.UTC(2025, 11, 31, 23, 59, 59, 999) });
    expect(await index.index([first, first])).toEqual({ indexed: 1, alreadyIndexed: 0, rejected: [] });
    expect(operations[0]).toEqual({
      create: { _index: 'vigil-audit-v1-2025.12', _id: first.transaction.transactionId },
    });
    expect(operations[1]).toMatchObject({
      transaction_id: first.transaction.transactionId,
      amount_minor: first.transaction.amountMinor.toString(),
      event_time: '2025-12-31T23:59:59.999Z',
      schema_version: 2,
    });
    expect(operations).toHaveLength(2);
  });
});
