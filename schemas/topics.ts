/**
 * Every topic Vigil uses, defined once. Subjects in the schema registry follow Confluent's TopicNameStrategy
 * (`<topic>-value`). Keys are account ids (tx.*, alerts) so per-account order and state stay on one partition.
 */
export const Topics = {
  /** Accepted transactions from every channel; key: payer account id. */
  transactionsRaw: 'tx.raw',
  /** Every decision with its reasons; key: payer account id. */
  transactionsScored: 'tx.scored',
  /** REVIEW and DECLINE decisions for analysts; key: payer account id. */
  fraudAlerts: 'fraud.alerts',
  /**
   * Analyst and chargeback verdicts (the feedback loop); key: the judged transaction's payer account id (its
   * transaction id when unknown), so a verdict travels on the partition number of its decision.
   */
  analystLabels: 'analyst.labels',
  /** Records that could not be processed, with the reason and the original bytes. */
  deadLetters: 'tx.dlq',
  /** The chart of accounts and balance policies (latest record per key governs; compacted); key: account id. */
  accounts: 'accounts',
  /** ledger-sink's balances of policy accounts, the feedback scoring checks funds against; key: account id. */
  ledgerBalances: 'ledger.balances',
  /** ledger-sink's bookings: a transaction's legs posted, or reversed; key: payer account id. */
  ledgerEvents: 'ledger.events',
  /** Managed API keys of machine feeds (latest record per key governs; compacted); key: key id. Every process reads it whole. */
  apiKeys: 'auth.api-keys',
  /**
   * Rules documents admins put in force (`PUT /v1/rules`); key: always `active`, so compaction keeps the newest,
   * which every scoring member decides with (its rules file only while the topic is empty). Read whole by every
   * scoring and dashboards process.
   */
  rulesVersions: 'rules.versions',
  /**
   * Analysts' cases as the steps that made them (alerts joining, assignments, notes, resolutions, four-eyes
   * approvals); key: the step's own id, so compaction deletes nothing and the topic keeps every case's history. One
   * partition, read whole by every dashboards process, which folds it in this one order into the same cases.
   */
  caseEvents: 'cases.events',
  /**
   * The champion-challenger setting (`PUT`/`DELETE /v1/shadow`, `POST /v1/shadow/promote`); key: always `active`, so
   * compaction keeps the newest, which every scoring member applies. Read whole by every scoring and dashboards process.
   */
  shadowSettings: 'shadow.settings',
  /** The challenger's decision beside the champion's for every transaction scored while one is set; key: payer account id. */
  shadowDecisions: 'shadow.decisions',
} as const;
export type Topic = (typeof Topics)[keyof typeof Topics];

/** The Avro record each topic carries (the schema's full name). */
export const TopicValueSchema = {
  [Topics.transactionsRaw]: 'vigil.Transaction',
  [Topics.transactionsScored]: 'vigil.ScoredTransaction',
  [Topics.fraudAlerts]: 'vigil.FraudAlert',
  [Topics.analystLabels]: 'vigil.AnalystLabel',
  [Topics.deadLetters]: 'vigil.DeadLetter',
  [Topics.accounts]: 'vigil.Account',
  [Topics.ledgerBalances]: 'vigil.LedgerBalance',
  [Topics.ledgerEvents]: 'vigil.LedgerEvent',
  [Topics.apiKeys]: 'vigil.ApiKey',
  [Topics.rulesVersions]: 'vigil.RulesVersion',
  [Topics.caseEvents]: 'vigil.CaseEvent',
  [Topics.shadowSettings]: 'vigil.ShadowSetting',
  [Topics.shadowDecisions]: 'vigil.ShadowDecision',
} as const satisfies Record<Topic, string>;

export function valueSubject(topic: Topic): string {
  return `${topic}-value`;
}

/** Header names Vigil writes on records (Kafka headers; strings). */
export const HeaderNames = {
  /** Why a record was dead-lettered. */
  dlqReason: 'vigil.dlq.reason',
  dlqErrorCode: 'vigil.dlq.error-code',
  dlqSourceTopic: 'vigil.dlq.topic',
  dlqSourcePartition: 'vigil.dlq.partition',
  dlqSourceOffset: 'vigil.dlq.offset',
  /** Set only when a letter keeps part of the record's bytes: the whole record's length and SHA-256 (hex). */
  dlqOriginalLength: 'vigil.dlq.original-length',
  dlqOriginalSha256: 'vigil.dlq.original-sha256',
  /**
   * On `tx.scored`, copies of fields of the value, so a consumer that only counts or looks for one transaction
   * need not decode the whole record (its 62-entry feature map dominates decoding). The value stays the truth:
   * whoever acts on a decision decodes it.
   */
  scoredTransactionId: 'vigil.transaction-id',
  scoredDecision: 'vigil.decision',
  /** The model score as JavaScript writes a number (shortest round-trip text). */
  scoredScore: 'vigil.score',
  /** On `ledger.events`, the event's type (POSTED, REVERSED): a reader that wants one type skips the other undecoded. */
  ledgerEventType: 'vigil.ledger-event-type',
} as const;

/**
 * Ingest's own state on the bus in distributed mode. Values are JSON (only ingest reads them); see
 * ingest/adapters/claims-idempotency-store.ts.
 */
export const IngestStateTopics = {
  /**
   * Every replica's claims on transaction ids, and their `accepted` / `released` records; key: transaction id. Kept
   * by time (twice the idempotency window plus the claim timeout), never compacted: the first claim decides.
   */
  idempotencyClaims: 'ingest.idempotency',
} as const;

/**
 * Distributed mode's per-customer data keys (SECURITY.md, Personal data), read whole by every ingest and dashboards
 * process. Values are JSON, not Avro: each data key wrapped under the master key, and the records that destroy
 * versions. One partition (one order), compacted: a destroyed key's proposal is tombstoned, so compaction removes
 * its wrapped copy (`platform/log-customer-key-store.ts`).
 */
export const PersonalDataTopics = {
  customerKeys: 'customer.keys',
} as const;

/**
 * The notifier's own durable outbox, on the log it is given (the embedded log; see notifier/main.ts). Values
 * are JSON, not Avro: `webhook.events` holds each event's exact JSON body (the bytes that get signed and sent),
 * keyed by the payer account so deliveries stay in order per account; the other two are the notifier's state.
 */
export const OutboxTopics = {
  /** One record per webhook event, value = the delivered JSON body; key: payer account id. */
  webhookEvents: 'webhook.events',
  /** Endpoint registrations (latest record per endpoint id wins; an empty value deletes); key: endpoint id. */
  webhookEndpoints: 'webhook.endpoints',
  /** One record per delivery attempt, for `GET /v1/webhooks/{id}/deliveries`; key: endpoint id. */
  webhookAttempts: 'webhook.attempts',
  /** One record per alert for e-mail, value = its sanitised content (no token, no account ids); key: alert id. */
  emailAlerts: 'email.alerts',
  /** E-mail subscriptions (latest record per subscription id wins); key: subscription id. */
  emailSubscriptions: 'email.subscriptions',
  /** One record per mail sent, refused or given up, with the `email.alerts` offset it covers; key: subscription id. */
  emailDeliveries: 'email.deliveries',
} as const;
