import { auditDocument, auditIndexName } from '../../schemas/elasticsearch/audit.js';
import {
  connectTestElasticsearch,
  deleteAuditIndices,
  installAuditTemplate,
  uniqueAuditPrefix,
} from '../../schemas/elasticsearch/test-helpers.js';
import { auditSearchContract } from '../testing/audit-search.contract.js';
import { ElasticsearchAuditSearch } from './elasticsearch-audit-search.js';

/**
 * The audit-search contract against a real Elasticsearch (http://127.0.0.1:9200, started by
 * `npm run services:up`). If it is not reachable every test of the suite fails, saying so: it never skips.
 * The documents are written as ledger-sink writes them: the versioned template, `auditDocument`, one monthly
 * index per event time, `op_type: create` with `_id` = transaction id, refreshed before the first search.
 */
auditSearchContract('Elasticsearch', async (decisions, onCleanup) => {
  const client = await connectTestElasticsearch();
  const prefix = uniqueAuditPrefix('search');
  onCleanup(() => client.close());
  onCleanup(() => deleteAuditIndices(client, prefix));
  await installAuditTemplate(client, prefix);
  const response = await client.bulk({
    refresh: 'wait_for',
    operations: decisions.flatMap((scored) => [
      {
        create: {
          _index: auditIndexName(prefix, scored.transaction.eventTimeMs),
          _id: scored.transaction.transactionId,
        },
      },
      auditDocument(scored, Date.now()),
    ]),
  });
  if (response.errors)
    throw new Error(`seeding failed: ${JSON.stringify(response.items.find((i) => i.create?.error)?.create?.error)}`);
  // The search gets its own client (it closes it); the fixture client above cleans up after it.
  const searchClient = await connectTestElasticsearch();
  return new ElasticsearchAuditSearch(searchClient, prefix);
});
