-- ClickHouse tables written by ledger-sink and read by dashboards: the storage contract between them.
-- Statements are separated by lines holding only ';' and run in order at every start. Every statement is
-- idempotent (IF NOT EXISTS), so a data directory made by an older version gains the columns added since.
-- Money is Int64 minor units with its ISO 4217 code beside it; times are DateTime64(3, 'UTC').
-- Idempotency never relies on background merges: ledger-sink checks transaction ids before inserting,
-- so plain sums over these MergeTree tables are exact at any moment.
-- ledger_entries, decisions and ledger_conflicts stay unpartitioned (no PARTITION BY): ledger-sink writes each
-- table once per batch, and an insert that is one block lands as one part, atomically, only while no partition
-- key splits it.

-- One row per leg of a double-entry posting. Per (transaction_id, currency) amounts sum to zero.
CREATE TABLE IF NOT EXISTS ledger_entries
(
    entry_id        String,
    transaction_id  String,
    leg             UInt16,
    account_id      String,
    amount_minor    Int64,
    currency        LowCardinality(String),
    entry_type      LowCardinality(String),
    fingerprint     String,
    event_time      DateTime64(3, 'UTC'),
    posted_at       DateTime64(3, 'UTC'),
    reverses_entry_id String DEFAULT '',
    INDEX idx_account account_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
ORDER BY (transaction_id, leg)
;
-- `event_time` is the value date (the client's event time); `posted_at` is the booking time (when Vigil booked
-- the leg), by which statements are cut. A reversal leg names the leg it reverses; '' for every other leg.
ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS reverses_entry_id String DEFAULT '' AFTER posted_at
;
-- Pending holds (two-phase postings): one row per leg a REVIEW would post, reserved until a verdict or expiry.
-- Open holds are those without a row in ledger_hold_resolutions; their debits count against available balance.
CREATE TABLE IF NOT EXISTS ledger_holds
(
    transaction_id  String,
    leg             UInt16,
    entry_id        String,
    account_id      String,
    amount_minor    Int64,
    currency        LowCardinality(String),
    entry_type      LowCardinality(String),
    fingerprint     String,
    event_time      DateTime64(3, 'UTC'),
    placed_at       DateTime64(3, 'UTC'),
    expires_at      DateTime64(3, 'UTC'),
    INDEX idx_account account_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
ORDER BY (transaction_id, leg)
;
-- How each hold ended, exactly once: POSTED (its legs are in ledger_entries) or VOIDED, by a verdict
-- (cause FRAUD or GENUINE, resolved_by the analyst) or by expiry (cause EXPIRED, resolved_by 'expiry').
CREATE TABLE IF NOT EXISTS ledger_hold_resolutions
(
    transaction_id  String,
    resolution      LowCardinality(String),
    cause           LowCardinality(String),
    resolved_by     String,
    resolved_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY transaction_id
;
-- One row per decision (every scored transaction, declined ones too): the audit trail.
-- `source` is the Avro Transaction's IngestSource (API, BATCH, FILE, WEBHOOK, SIMULATOR), so reports can tell
-- simulated traffic from real. Its DEFAULT reads it from `transaction_json` for rows stored before the column
-- existed (every Transaction version carries `source`); ledger-sink always writes it.
CREATE TABLE IF NOT EXISTS decisions
(
    transaction_id   String,
    fingerprint      String,
    channel          LowCardinality(String),
    kind             LowCardinality(String),
    source           LowCardinality(String) DEFAULT JSONExtractString(transaction_json, 'source'),
    amount_minor     Int64,
    currency         LowCardinality(String),
    payer_account_id String,
    payee_account_id String,
    customer_id      String,
    card_token       String,
    card_last4       String,
    merchant_id      String,
    terminal_id      String,
    mcc              String,
    device_id        String,
    country          String,
    description      String,
    decision         LowCardinality(String),
    score            Float64,
    reasons_json     String,
    reason_codes     Array(LowCardinality(String)),
    rules_fired      Array(LowCardinality(String)),
    features_json    String,
    model_version    LowCardinality(String),
    rules_version    LowCardinality(String),
    transaction_json String,
    event_time       DateTime64(3, 'UTC'),
    received_at      DateTime64(3, 'UTC'),
    scored_at        DateTime64(3, 'UTC'),
    stored_at        DateTime64(3, 'UTC'),
    INDEX idx_payer payer_account_id TYPE bloom_filter GRANULARITY 4,
    INDEX idx_decision decision TYPE set(3) GRANULARITY 4
)
ENGINE = MergeTree
ORDER BY transaction_id
;
-- Data directories from before `source`: the same column definition, added in place (existing rows compute it).
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS
    source           LowCardinality(String) DEFAULT JSONExtractString(transaction_json, 'source') AFTER kind
;
-- Transactions whose id was seen again with different content: reported, never posted.
CREATE TABLE IF NOT EXISTS ledger_conflicts
(
    transaction_id        String,
    posted_fingerprint    String,
    conflicting_fingerprint String,
    detected_at           DateTime64(3, 'UTC'),
    transaction_json      String
)
ENGINE = MergeTree
ORDER BY (transaction_id, detected_at)
;
-- Analyst and chargeback verdicts, as consumed from analyst.labels (who did what, when).
CREATE TABLE IF NOT EXISTS analyst_labels
(
    transaction_id String,
    label          LowCardinality(String),
    labelled_by    String,
    labelled_at    DateTime64(3, 'UTC'),
    note           String
)
ENGINE = MergeTree
ORDER BY (transaction_id, labelled_at)
;
-- Every report, search and audit-trail read, by whom (PCI DSS 10.2, GDPR accountability).
CREATE TABLE IF NOT EXISTS access_log
(
    at         DateTime64(3, 'UTC'),
    principal  String,
    role       LowCardinality(String),
    action     LowCardinality(String),
    resource   String,
    query_json String
)
ENGINE = MergeTree
ORDER BY at
