import type { Principal } from '../platform/auth.js';
import type { ApiKey, CaseEvent, FraudAlert, RulesVersion, ShadowSetting } from '../schemas/generated/types.js';
import type { AuditPage, AuditQuery } from './domain/audit-query.js';
import type { CaseBook, StepOutcome } from './domain/cases.js';
import type { LoggedRecord } from './domain/replay-merge.js';

/** The ports dashboards owns; adapters/ implements them. */

/** One entry of the access log: who did what to which resource, with which (validated, secret-free) query. */
export interface AccessRecord {
  readonly principal: Principal;
  /** What was done, e.g. `transaction.audit-trail`, `report.summary`, `live.open`. */
  readonly action: string;
  /** What it was done to, e.g. `transaction/tx-1`, `account/acc-9`, `alerts/live`. */
  readonly resource: string;
  /** The validated query (never secrets). */
  readonly query: Readonly<Record<string, unknown>>;
}

/**
 * The access log port (PCI DSS 10.2.1): `record` resolves once the entry is durable and rejects (with
 * ACCESS_LOG_UNAVAILABLE) when it cannot be written, so every caller can fail closed.
 */
export interface AccessLog {
  record(access: AccessRecord): Promise<void>;
}

/**
 * The audit search port, owned by dashboards. ClickHouse's `decisions` serves it in the embedded default,
 * Elasticsearch's audit index in distributed mode; both give the same answers to the same query (one
 * contract suite runs against both: testing/audit-search.contract.ts).
 *
 * Free text: `terms` are ANDed. A term matches a decision when
 *  - it equals, ignoring case, its transaction id, payer or payee account, merchant id or one of its reason
 *    codes; or
 *  - all of its words (runs of letters and digits) are words of its description, of one of its reason
 *    descriptions (all reasons together), or of its merchant id — ignoring case.
 * Results are newest first by event time (ties by transaction id, descending), keyset-paginated.
 */
export interface AuditSearch {
  /** @throws UnavailableError when the backing store cannot be reached. */
  search(query: AuditQuery): Promise<AuditPage>;
  close(): Promise<void>;
}

/** One `fraud.alerts` record read back for a catch-up; `alert` is undefined when the record does not decode. */
export interface LoggedAlert extends LoggedRecord {
  readonly alert: FraudAlert | undefined;
}

/**
 * The durable `fraud.alerts` log as the live hub replays it to reconnecting clients, owned by dashboards
 * (app/live-feed.ts implements it over the bus).
 */
export interface AlertLog {
  readonly partitions: number;
  /** The offset the next record will get, per partition. */
  endOffsets(): Promise<number[]>;
  /**
   * Up to `maxRecords` records of `partition` from `fromOffset`, in offset order. Rejects when the log cannot be
   * read or the offset is out of its range (e.g. deleted by retention); retriable registry trouble rejects too.
   */
  read(partition: number, fromOffset: number, maxRecords: number): Promise<LoggedAlert[]>;
}

/**
 * The managed API keys (Topics.apiKeys) as the key routes need them: every record by key id, and a durable write
 * that the process's own authenticator sees at once (schemas/api-keys.ts's feed implements it).
 */
export interface ApiKeyDirectory {
  readonly records: ReadonlyMap<string, ApiKey>;
  publish(record: ApiKey): Promise<void>;
}

/** A rules document validated whole, with its content version (what decisions will name). */
export interface PreparedRules {
  /** SHA-256 (hex) of `canonicalDocument`. */
  readonly version: string;
  /** The document's own `version` field. */
  readonly label: string;
  readonly canonicalDocument: string;
}

/**
 * The rules in force as `PUT /v1/rules` and `GET /v1/rules/active` need them. `prepare` is scoring's own validation
 * (the composition root passes it in: stages share no code), so a document is refused here exactly when scoring
 * would refuse it; `publish` writes to Topics.rulesVersions, which every scoring member reads.
 */
export interface RulesControl {
  /** Throws ValidationError (RULES_INVALID) listing every problem with its JSON-pointer path. */
  prepare(document: unknown): PreparedRules;
  /** The newest record on Topics.rulesVersions; undefined while only rules files were ever used. */
  latest(): RulesVersion | undefined;
  publish(record: RulesVersion): Promise<void>;
}

/**
 * The champion-challenger setting as the shadow routes need it. `checkModel` is scoring's own check of a candidate
 * model (the composition root passes it in: stages share no code), so a version is refused here exactly when scoring
 * could not load it; `publish` writes to Topics.shadowSettings, which every scoring member reads.
 */
export interface ShadowControl {
  /**
   * Resolves when the candidate named `version` loads in this build; throws ValidationError (SHADOW_INVALID,
   * problems at `/modelVersion` naming the directory and file read) when it does not.
   */
  checkModel(version: string): Promise<void>;
  /** Resolves once the topic is read to where it ended at start, so {@link latest} is the setting in force. */
  loaded(): Promise<void>;
  /** The newest record on Topics.shadowSettings; undefined while no challenger was ever set. */
  latest(): ShadowSetting | undefined;
  publish(record: ShadowSetting): Promise<void>;
}

/**
 * Analysts' cases as the routes need them: the cases this process has folded from Topics.caseEvents, and a durable
 * write of one step that answers with what the fold made of it (app/case-feed.ts implements it).
 */
export interface CaseLog {
  readonly book: CaseBook;
  /** Resolves with the fold's outcome of `event` once folded here; rejects (CASES_UNAVAILABLE) when it cannot be. */
  submit(event: CaseEvent): Promise<StepOutcome>;
  /** Resolves once every step on the log when called is folded here. */
  catchUp(): Promise<void>;
}
