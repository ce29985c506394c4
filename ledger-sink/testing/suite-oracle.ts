import type { ClickHouseClient } from '@clickhouse/client';
import type { Client as ElasticsearchClient } from '@elastic/elasticsearch';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import { auditIndexPattern } from '../../schemas/elasticsearch/audit.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { postingsForDecision } from '../domain/postings.js';

/**
 * The fault suite's shared oracle for ledger-sink (faults 8 and 9), checked once the fault is cleared: the
 * acknowledged transaction ids, the decisions stored and the audit documents are the same set, each once; every
 * postable decision's entries are stored exactly once (no more, no fewer, nothing for anything else) and each
 * transaction's entries sum to zero per currency. The expectation is computed from the inputs (with the domain's
 * own posting rules), never from what the handler reported. The checker is pure, so a test can plant a fault
 * into what it sees and watch it report it.
 */

/** What the inputs say must be stored. */
export interface SuiteExpectation {
  /** Every transaction id whose record the bus acknowledged. */
  readonly acknowledged: ReadonlySet<string>;
  /** For each postable transaction, the ids of the entries its decision posts (declines and holds post none). */
  readonly entryIds: ReadonlyMap<string, readonly string[]>;
}

/** One stored ledger leg, as the oracle needs it. */
export interface StoredLeg {
  readonly entryId: string;
  readonly transactionId: string;
  readonly currency: string;
  readonly amountMinor: bigint;
}

/** What is stored, with multiplicity (a row stored twice appears twice). */
export interface StoredView {
  readonly decisionIds: readonly string[];
  readonly legs: readonly StoredLeg[];
  /** Audit document ids; omitted when the run has no search index (embedded mode audits from `decisions`). */
  readonly auditIds?: readonly string[];
}

/** The expectation for `inputs`, with the domain's posting rules (entry ids do not depend on the clock). */
export function suiteExpectation(inputs: readonly ScoredTransaction[]): SuiteExpectation {
  const acknowledged = new Set<string>();
  const entryIds = new Map<string, string[]>();
  for (const scored of inputs) {
    const id = scored.transaction.transactionId;
    acknowledged.add(id);
    const entries = postingsForDecision(scored, 0);
    if (entries.length > 0 && !entryIds.has(id))
      entryIds.set(
        id,
        entries.map((e) => e.entryId),
      );
  }
  return { acknowledged, entryIds };
}

/** Every way `view` departs from `expected`, one line each (at most `limit` lines per kind); empty when exact. */
export function suiteViolations(view: StoredView, expected: SuiteExpectation, limit = 10): string[] {
  const violations: string[] = [];
  // Items are listed sorted: a read without ORDER BY returns rows in whatever order the parts were merged, and
  // the report must name the same examples for the same stored rows.
  const report = (kind: string, unordered: readonly string[]): void => {
    const items = [...unordered].sort();
    if (items.length > 0)
      violations.push(
        `${kind}: ${items.length} (${items.slice(0, limit).join(', ')}${items.length > limit ? ', …' : ''})`,
      );
  };

  report('acknowledged without a decision', missingFrom(expected.acknowledged, view.decisionIds));
  report('decisions stored more than once', repeated(view.decisionIds));
  report('decisions never acknowledged', unexpected(view.decisionIds, expected.acknowledged));
  if (view.auditIds !== undefined) {
    report('acknowledged without an audit document', missingFrom(expected.acknowledged, view.auditIds));
    report('audit documents stored more than once', repeated(view.auditIds));
    report('audit documents never acknowledged', unexpected(view.auditIds, expected.acknowledged));
  }

  const wantedEntries = new Set([...expected.entryIds.values()].flat());
  const storedEntryIds = view.legs.map((leg) => leg.entryId);
  report('entries missing (a postable decision not posted)', missingFrom(wantedEntries, storedEntryIds));
  report('entries posted more than once', repeated(storedEntryIds));
  report('entries no postable decision posts', unexpected(storedEntryIds, wantedEntries));

  const sums = new Map<string, bigint>();
  for (const leg of view.legs) {
    const key = `${leg.transactionId} ${leg.currency}`;
    sums.set(key, (sums.get(key) ?? 0n) + leg.amountMinor);
  }
  report(
    'transactions whose legs do not sum to zero in a currency',
    [...sums].filter(([, sum]) => sum !== 0n).map(([key, sum]) => `${key} ${sum}`),
  );
  return violations;
}

/** How a view was read: with FINAL, or without because the table's engine has no FINAL (plain MergeTree). */
export interface ReadMode {
  readonly final: boolean;
  /** The engines of `decisions` and `ledger_entries`, as ClickHouse names them. */
  readonly engines: readonly string[];
}

/**
 * Reads `decisions` and `ledger_entries` with every row (`final: false`) or as merged by `FINAL`. `FINAL` only
 * exists for the collapsing/replacing MergeTree family; on a plain MergeTree (which cannot merge rows away)
 * the FINAL read is the plain read, and the returned mode says so.
 */
export async function readStoredLedger(
  client: ClickHouseClient,
  wantFinal: boolean,
): Promise<{ view: StoredView; mode: ReadMode }> {
  const engines = await rows<{ engine: string }>(
    client,
    `SELECT engine FROM system.tables WHERE database = currentDatabase() AND name IN ({tables:Array(String)}) ORDER BY name`,
    { tables: [ClickHouseTables.decisions, ClickHouseTables.ledgerEntries] },
  );
  const engineNames = engines.map((e) => e.engine);
  const final = wantFinal && engineNames.every((engine) => /Replacing|Collapsing|Aggregating|Summing/.test(engine));
  const modifier = final ? 'FINAL' : '';
  const decisions = await rows<{ transaction_id: string }>(
    client,
    `SELECT transaction_id FROM ${ClickHouseTables.decisions} ${modifier}`,
  );
  const legs = await rows<{ entry_id: string; transaction_id: string; currency: string; amount_minor: string }>(
    client,
    `SELECT entry_id, transaction_id, currency, toString(amount_minor) AS amount_minor FROM ${ClickHouseTables.ledgerEntries} ${modifier}`,
  );
  return {
    view: {
      decisionIds: decisions.map((d) => d.transaction_id),
      legs: legs.map((l) => ({
        entryId: l.entry_id,
        transactionId: l.transaction_id,
        currency: l.currency,
        amountMinor: BigInt(l.amount_minor),
      })),
    },
    mode: { final, engines: engineNames },
  };
}

/** Every document id under the audit prefix, with multiplicity across the monthly indices. */
export async function readAuditIds(client: ElasticsearchClient, prefix: string): Promise<string[]> {
  await client.indices.refresh({ index: auditIndexPattern(prefix), allow_no_indices: true });
  const ids: string[] = [];
  const scroll = client.helpers.scrollSearch({
    index: auditIndexPattern(prefix),
    size: 5000,
    _source: false,
    query: { match_all: {} },
  });
  for await (const page of scroll) for (const hit of page.body.hits.hits) ids.push(hit._id!);
  return ids;
}

async function rows<Row>(client: ClickHouseClient, query: string, params?: Record<string, unknown>): Promise<Row[]> {
  const result = await client.query({ query, format: 'JSONEachRow', ...(params ? { query_params: params } : {}) });
  return result.json<Row>();
}

function missingFrom(wanted: ReadonlySet<string>, present: readonly string[]): string[] {
  const have = new Set(present);
  return [...wanted].filter((id) => !have.has(id));
}

function repeated(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const id of ids) (seen.has(id) ? twice : seen).add(id);
  return [...twice];
}

function unexpected(ids: readonly string[], allowed: ReadonlySet<string>): string[] {
  return [...new Set(ids)].filter((id) => !allowed.has(id));
}
