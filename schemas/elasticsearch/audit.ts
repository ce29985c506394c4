import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@elastic/elasticsearch';
import {
  type Env,
  type Secret,
  readInt,
  readOptionalFile,
  readOptionalSecret,
  readOptionalString,
  readString,
} from '../../platform/config.js';
import { ConfigError } from '../../platform/errors.js';
import type { ScoredTransaction } from '../generated/types.js';

/**
 * The Elasticsearch audit index: the storage contract between ledger-sink (writer) and dashboards (reader),
 * like `schemas/clickhouse/tables.sql` is for ClickHouse.
 *
 * One document per decision, `_id` = transaction id, in monthly indices `<prefix>-YYYY.MM` chosen by the
 * transaction's event time. Event time is part of the transaction's content, so a replayed or redelivered
 * decision always lands in the same index and `op_type: create` makes the replay a no-op; old months can be
 * dropped whole for retention. Readers search the pattern `<prefix>-*`.
 */

/**
 * Version of the mapping in `audit-template.v2.json` (v2 added `source`, `submitted_by`, `risk`); bump with a new
 * file and a new prefix. The mapping is `dynamic: strict`, so new fields cannot go into the v1 indices: v2 documents
 * go to `vigil-audit-v2-*`, filled by replaying tx.scored, and v1 documents (without those fields) stay readable.
 */
export const AUDIT_SCHEMA_VERSION = 2;
/** Index prefix in production; tests use their own unique prefix. */
export const DEFAULT_AUDIT_INDEX_PREFIX = 'vigil-audit-v2';

/** The document as stored in `_source`. Money stays exact: `amount_minor` is the Int64 as a decimal string. */
export interface AuditDocument {
  readonly schema_version: number;
  readonly transaction_id: string;
  readonly fingerprint: string;
  readonly channel: string;
  readonly kind: string;
  /** Where it came in (API, BATCH, SIMULATOR…); absent in v1 documents. */
  readonly source?: string;
  /** Who submitted it (an API key's principal id, never the key); null when unknown, absent in v1 documents. */
  readonly submitted_by?: string | null;
  readonly decision: string;
  /** The model's probability alone. */
  readonly score: number;
  /** The combined risk compared with the thresholds; null for decisions scored before it was recorded, absent in v1. */
  readonly risk?: number | null;
  /** Minor units as a decimal string: JSON numbers lose precision above 2^53; the `long` field parses it exactly. */
  readonly amount_minor: string;
  readonly currency: string;
  readonly payer_account_id: string;
  readonly payee_account_id: string;
  /** The PCI DSS token, never a PAN. */
  readonly card_token: string | null;
  readonly card_last4: string | null;
  readonly merchant_id: string | null;
  readonly mcc: string | null;
  readonly country: string | null;
  readonly description: string | null;
  /** Strongest first, as scored. */
  readonly reasons: ReadonlyArray<{ code: string; source: string; description: string; weight: number }>;
  readonly rules_fired: readonly string[];
  readonly model_version: string;
  readonly rules_version: string;
  /** ISO 8601 UTC with milliseconds. */
  readonly event_time: string;
  readonly received_at: string;
  readonly scored_at: string;
  readonly indexed_at: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The audit document of one decision. Personal data is minimised (PCI DSS 3.3, GDPR art. 5(1)(c)): no customer,
 * device or IP fields — the full record stays in ClickHouse's `decisions`, reachable by transaction id.
 */
export function auditDocument(scored: ScoredTransaction, indexedAtMs: number): AuditDocument {
  const tx = scored.transaction;
  return {
    schema_version: AUDIT_SCHEMA_VERSION,
    transaction_id: tx.transactionId,
    fingerprint: tx.fingerprint,
    channel: tx.channel,
    kind: tx.kind,
    source: tx.source,
    submitted_by: tx.submittedBy,
    decision: scored.decision,
    score: scored.score,
    risk: scored.risk,
    amount_minor: tx.amountMinor.toString(),
    currency: tx.currency,
    payer_account_id: tx.payerAccountId,
    payee_account_id: tx.payeeAccountId,
    card_token: tx.card?.token ?? null,
    card_last4: tx.card?.last4 ?? null,
    merchant_id: tx.merchantId,
    mcc: tx.mcc,
    country: tx.country,
    description: tx.description,
    reasons: scored.reasons.map((r) => ({
      code: r.code,
      source: r.source,
      description: r.description,
      weight: r.weight,
    })),
    rules_fired: [...scored.rulesFired],
    model_version: scored.modelVersion,
    rules_version: scored.rulesVersion,
    event_time: iso(tx.eventTimeMs),
    received_at: iso(tx.receivedAtMs),
    scored_at: iso(scored.scoredAtMs),
    indexed_at: iso(indexedAtMs),
  };
}

/** The index a transaction with this event time belongs to: `<prefix>-YYYY.MM` (UTC). */
export function auditIndexName(prefix: string, eventTimeMs: number): string {
  const at = new Date(eventTimeMs);
  return `${prefix}-${at.getUTCFullYear()}.${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** What readers search: every monthly index under `prefix`. */
export function auditIndexPattern(prefix: string): string {
  return `${prefix}-*`;
}

/** Body of a composable index template (`PUT _index_template/<name>`). */
export interface AuditIndexTemplate {
  readonly index_patterns: string[];
  readonly priority: number;
  readonly version: number;
  readonly _meta: Record<string, unknown>;
  readonly template: { settings: Record<string, unknown>; mappings: Record<string, unknown> };
}

/**
 * The versioned template from `audit-template.v2.json`, with its index pattern set to `<prefix>-*` so tests
 * can install it under their own prefix. Install it as template name `prefix`.
 */
export function auditIndexTemplate(prefix: string = DEFAULT_AUDIT_INDEX_PREFIX): AuditIndexTemplate {
  const file = fileURLToPath(new URL('./audit-template.v2.json', import.meta.url));
  const template = JSON.parse(readFileSync(file, 'utf8')) as AuditIndexTemplate;
  return { ...template, index_patterns: [auditIndexPattern(prefix)] };
}

/** Where the audit index lives; read the same way by ledger-sink (writer) and dashboards (search). */
export interface AuditIndexTarget {
  /** Base URL of Elasticsearch (VIGIL_ELASTICSEARCH_URL), e.g. http://elasticsearch:9200. */
  readonly url: string;
  /** Index prefix (VIGIL_ELASTICSEARCH_AUDIT_PREFIX, default `vigil-audit-v1`); indices are `<prefix>-YYYY.MM`. */
  readonly indexPrefix: string;
  /** Timeout of one request (VIGIL_ELASTICSEARCH_REQUEST_TIMEOUT_MS, 100..300000, default 30000). */
  readonly requestTimeoutMs: number;
  /**
   * API key sent as `Authorization: ApiKey …` (VIGIL_ELASTICSEARCH_API_KEY, or a file named by
   * VIGIL_ELASTICSEARCH_API_KEY_FILE): the `encoded` value Elasticsearch returns when the key is made. Only over
   * https. Undefined = no authentication (a cluster with security off).
   */
  readonly apiKey: Secret | undefined;
  /** PEM CA certificates the cluster's certificate must chain to (VIGIL_ELASTICSEARCH_CA_FILE); undefined = Node's. */
  readonly caPem: string | undefined;
}

/** The audit index target from the environment; undefined when VIGIL_ELASTICSEARCH_URL is unset. */
export function readAuditIndexTarget(env: Env): AuditIndexTarget | undefined {
  const url = readOptionalString(env, 'VIGIL_ELASTICSEARCH_URL');
  if (url === undefined) return undefined;
  if (!URL.canParse(url) || !['http:', 'https:'].includes(new URL(url).protocol))
    throw new ConfigError('VIGIL_ELASTICSEARCH_URL', url, 'an http(s) URL such as http://127.0.0.1:9200');
  const indexPrefix = readString(env, 'VIGIL_ELASTICSEARCH_AUDIT_PREFIX', DEFAULT_AUDIT_INDEX_PREFIX);
  // Elasticsearch index names: lowercase, no spaces or \/*?"<>|,# and not starting with -_+.
  if (!/^[a-z0-9][a-z0-9._-]{0,200}$/.test(indexPrefix))
    throw new ConfigError('VIGIL_ELASTICSEARCH_AUDIT_PREFIX', indexPrefix, 'a lowercase index prefix [a-z0-9._-]');
  const apiKey = readOptionalSecret(env, 'VIGIL_ELASTICSEARCH_API_KEY');
  const caPem = readOptionalFile(env, 'VIGIL_ELASTICSEARCH_CA_FILE');
  if (new URL(url).protocol === 'http:') {
    // A key sent over plain HTTP can be read off the network and replayed.
    if (apiKey !== undefined)
      throw new ConfigError('VIGIL_ELASTICSEARCH_URL', url, 'an https URL when VIGIL_ELASTICSEARCH_API_KEY is set');
    if (caPem !== undefined)
      throw new ConfigError('VIGIL_ELASTICSEARCH_URL', url, 'an https URL when VIGIL_ELASTICSEARCH_CA_FILE is set');
  }
  return {
    url,
    indexPrefix,
    requestTimeoutMs: readInt(env, 'VIGIL_ELASTICSEARCH_REQUEST_TIMEOUT_MS', 30_000, { min: 100, max: 300_000 }),
    apiKey,
    caPem,
  };
}

type ClientOptions = ConstructorParameters<typeof Client>[0];

/**
 * The connection part of an Elasticsearch client's options for `target`: the node, the API key and the CA. Used by
 * both the writer and the reader, so both authenticate and verify the cluster the same way; each adds its own
 * retry and timeout settings. The certificate is always verified (Node's default, never turned off here).
 */
export function elasticsearchConnection(
  target: Pick<AuditIndexTarget, 'url' | 'apiKey' | 'caPem'>,
): Partial<Pick<ClientOptions, 'node' | 'auth' | 'tls'>> {
  return {
    node: target.url,
    ...(target.apiKey !== undefined ? { auth: { apiKey: target.apiKey.reveal() } } : {}),
    ...(target.caPem !== undefined ? { tls: { ca: target.caPem } } : {}),
  };
}
