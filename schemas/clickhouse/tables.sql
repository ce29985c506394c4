-- ClickHouse tables written by ledger-sink and read by dashboards: the storage contract between them.
-- Statements are separated by lines holding only ';' and run in order at every start. Every statement is
-- idempotent (IF NOT EXISTS), so a data directory made by an older version gains the columns added since.
-- Money is Int64 minor units with its ISO 4217 code beside it; times are DateTime64(3, 'UTC').
-- Idempotency never relies on background merges: ledger-sink checks transaction ids before inserting, and each
-- insert skips rows already stored (the `*_incoming` tables at the end), so plain sums over these MergeTree
-- tables are exact at any moment.
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
    captures_transaction_id String DEFAULT '',
    refunds_transaction_id String DEFAULT '',
    INDEX idx_account account_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
ORDER BY (transaction_id, leg)
;
-- `event_time` is the value date (the client's event time); `posted_at` is the booking time (when Vigil booked
-- the leg), by which statements are cut. A reversal leg names the leg it reverses; '' for every other leg.
ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS reverses_entry_id String DEFAULT '' AFTER posted_at
;
-- Card flows: a CAPTURE's legs name the AUTHORIZATION whose hold they settle (they consume its legs on the same
-- account and currency); a REFUND's legs name the payment they pay back. '' for every other leg.
ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS captures_transaction_id String DEFAULT '' AFTER reverses_entry_id
;
ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS refunds_transaction_id String DEFAULT '' AFTER captures_transaction_id
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
    hold_kind       LowCardinality(String) DEFAULT 'REVIEW',
    captures_transaction_id String DEFAULT '',
    refunds_transaction_id String DEFAULT '',
    INDEX idx_account account_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = MergeTree
ORDER BY (transaction_id, leg)
;
-- An AUTHORIZATION's hold (hold_kind) waits for its captures instead of a verdict. The links are the held
-- transaction's own (a REVIEW of a capture or a refund), carried onto the entries its hold books when posted.
ALTER TABLE ledger_holds ADD COLUMN IF NOT EXISTS hold_kind LowCardinality(String) DEFAULT 'REVIEW'
;
ALTER TABLE ledger_holds ADD COLUMN IF NOT EXISTS captures_transaction_id String DEFAULT ''
;
ALTER TABLE ledger_holds ADD COLUMN IF NOT EXISTS refunds_transaction_id String DEFAULT ''
;
-- How each hold ended, exactly once: POSTED (its legs are in ledger_entries) or VOIDED, by a verdict
-- (cause FRAUD or GENUINE, resolved_by the analyst) or by expiry (cause EXPIRED, resolved_by 'expiry'); an
-- authorisation's also CAPTURED (cause CAPTURED) once its captures consumed its payer leg in full.
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
-- `transaction_json` holds the scored transaction's fields that the row's columns cannot give back (those without a
-- column, and an empty text where a column keeps '' for null); schemas/decision-transaction.ts rebuilds the whole
-- record from both. Rows stored before 2026-12 hold the whole record, which readers take as it is.
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
    submitted_by     LowCardinality(String) DEFAULT JSONExtractString(transaction_json, 'submittedBy'),
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
    risk             Nullable(Float64),
    reasons_json     String,
    reason_codes     Array(LowCardinality(String)),
    rules_fired      Array(LowCardinality(String)),
    features_json    String,
    reporting_currency LowCardinality(String) DEFAULT '',
    unconverted_currency LowCardinality(String) DEFAULT '',
    model_version    LowCardinality(String),
    rules_version    LowCardinality(String),
    unposted_reason  String DEFAULT '',
    transaction_json String,
    event_time       DateTime64(3, 'UTC'),
    received_at      DateTime64(3, 'UTC'),
    scored_at        DateTime64(3, 'UTC'),
    stored_at        DateTime64(3, 'UTC'),
    INDEX idx_payer payer_account_id TYPE bloom_filter GRANULARITY 4,
    INDEX idx_card card_token TYPE bloom_filter GRANULARITY 4,
    INDEX idx_decision decision TYPE set(3) GRANULARITY 4
)
ENGINE = MergeTree
ORDER BY transaction_id
;
-- The case timeline finds a card's transactions by token: data directories from before the index get it for the
-- parts written from now on (older parts are read whole, as before).
ALTER TABLE decisions ADD INDEX IF NOT EXISTS idx_card card_token TYPE bloom_filter GRANULARITY 4
;
-- Data directories from before `source`: the same column definition, added in place (existing rows compute it).
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS
    source           LowCardinality(String) DEFAULT JSONExtractString(transaction_json, 'source') AFTER kind
;
-- Who submitted it (Transaction v4 `submittedBy`: an API key's principal id, never the key, or an internal feed);
-- '' for rows from transactions before v4. The combined risk compared with the thresholds (ScoredTransaction v4);
-- NULL for decisions scored before v4, which did not record it (their score alone is not what crossed).
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS
    submitted_by     LowCardinality(String) DEFAULT JSONExtractString(transaction_json, 'submittedBy') AFTER source
;
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS risk Nullable(Float64) AFTER score
;
-- Why the ledger could not post a transaction ingest had accepted ('<error code>: <message>'); '' for every
-- other decision. Such a transaction is also dead-lettered with its original bytes.
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS unposted_reason String DEFAULT '' AFTER rules_version
;
-- The ISO 4217 code of the currency the amounts in features_json are in (ScoredTransaction v6 reportingCurrency:
-- scoring's reporting currency when it decided). '' for decisions scored before v6, which did not record it; see
-- that field's doc in schemas/avro/ScoredTransaction.v6.avsc for what their amounts are. `decisions_incoming` needs
-- the same ALTER (below, after it is created).
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS reporting_currency LowCardinality(String) DEFAULT '' AFTER features_json
;
-- The transaction's debit currency when the rate table had no rate from it to reporting_currency (ScoredTransaction
-- v6 unconvertedCurrency): its amount in features_json is in that currency's major units and the windows it joined
-- counted it unconverted. '' when it converted, and for decisions stored before the column (v6 before it gained the
-- field, and every decision scored before v6). `decisions_incoming` needs the same ALTER (below).
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS unconverted_currency LowCardinality(String) DEFAULT '' AFTER reporting_currency
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
    principal_name String DEFAULT '',
    role       LowCardinality(String),
    action     LowCardinality(String),
    resource   String,
    query_json String
)
ENGINE = MergeTree
ORDER BY at
;
-- A person's display name (preferred_username or name from their access token) beside their `user:<sub>` id; ''
-- for API keys and for rows from before people signed in. Added in place in older data directories.
ALTER TABLE access_log ADD COLUMN IF NOT EXISTS principal_name String DEFAULT '' AFTER principal
;
-- What every open hold still reserves, leg by leg: its amount less what the captures of an authorisation booked on
-- the same account, currency and side, never past zero (a REVIEW's hold has no captures: all of it). A capture's
-- reversal legs do not give back. Balances, the funds feed and statements read pending amounts from here only.
CREATE OR REPLACE VIEW ledger_open_hold_legs AS
SELECT
    h.transaction_id AS transaction_id,
    h.leg            AS leg,
    h.entry_id       AS entry_id,
    h.account_id     AS account_id,
    h.currency       AS currency,
    h.entry_type     AS entry_type,
    h.hold_kind      AS hold_kind,
    h.event_time     AS event_time,
    h.placed_at      AS placed_at,
    h.expires_at     AS expires_at,
    h.amount_minor   AS held_minor,
    toInt64(sign(h.amount_minor) * greatest(toInt128(abs(h.amount_minor)) - ifNull(c.consumed, toInt128(0)), toInt128(0)))
                     AS remaining_minor
FROM ledger_holds AS h
LEFT JOIN
(
    SELECT authorization_id AS captures_transaction_id, leg_account AS account_id, leg_currency AS currency,
           side, sum(toInt128(abs(amount))) AS consumed
    FROM
    (
        -- Each capture leg once by its entry id, as the domain reads them (a row stored twice is a fault the
        -- ledger-integrity report shows, not a second capture).
        SELECT entry_id, any(captures_transaction_id) AS authorization_id, any(account_id) AS leg_account,
               any(currency) AS leg_currency, any(amount_minor) AS amount, sign(amount) AS side
        FROM ledger_entries
        WHERE captures_transaction_id != '' AND reverses_entry_id = ''
        GROUP BY entry_id
    )
    GROUP BY authorization_id, leg_account, leg_currency, side
) AS c
    ON c.captures_transaction_id = h.transaction_id AND c.account_id = h.account_id AND c.currency = h.currency
   AND c.side = sign(h.amount_minor)
WHERE h.transaction_id NOT IN (SELECT transaction_id FROM ledger_hold_resolutions)
SETTINGS join_use_nulls = 1
;
-- Every rules document scoring has loaded, by its version: the SHA-256 (hex) of the document's canonical JSON, which
-- is what decisions.rules_version records from then on, so any decision's rules can be read back and re-applied.
-- Content-addressed, so a row never changes; ReplacingMergeTree folds the copies several scoring instances write.
-- Decisions from before content versions name a label (e.g. 2024.11.1) that has no row here.
CREATE TABLE IF NOT EXISTS rules_versions
(
    version          String,
    label            String,
    rules_json       String,
    first_loaded_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY version
;
-- The challenger's decision beside the champion's for every transaction scored while a challenger is set
-- (shadow.decisions), from the same feature vector: recorded for the champion-challenger report, never acted on.
-- One row per transaction and challenger (its model and rules versions).
CREATE TABLE IF NOT EXISTS shadow_decisions
(
    transaction_id            String,
    event_time                DateTime64(3, 'UTC'),
    scored_at                 DateTime64(3, 'UTC'),
    champion_decision         LowCardinality(String),
    champion_score            Float64,
    champion_risk             Float64,
    champion_reason_codes     Array(LowCardinality(String)),
    champion_model_version    LowCardinality(String),
    champion_rules_version    LowCardinality(String),
    challenger_decision       LowCardinality(String),
    challenger_score          Float64,
    challenger_risk           Float64,
    challenger_reason_codes   Array(LowCardinality(String)),
    challenger_model_version  LowCardinality(String),
    challenger_rules_version  LowCardinality(String),
    stored_at                 DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (transaction_id, challenger_model_version, challenger_rules_version)
;
-- Insert once: ledger-sink writes the seven tables it owns through these, never directly. Each `<table>_incoming`
-- (engine Null: it keeps no rows) feeds a materialised view that passes on to `<table>` only the rows whose key is
-- not stored there yet, so the check and the write are one INSERT statement. chDB runs one statement at a time
-- and its data directory belongs to one process, so no other write lands between them: a second writer of the
-- same rows (a member that stalled past its session timeout and wakes after the partition moved, or two batches
-- with different boundaries over the same records) adds nothing. On a ClickHouse server two such INSERTs running
-- at the same moment can still both pass the check (see RELIABILITY.md, fault 10). The filter reads `<table>` by
-- its sort key prefix (transaction_id), so its cost follows the batch, not the table.
-- Created AS their table after every ALTER above, so they have its columns; a column added later needs an ALTER of
-- `<table>_incoming` too.
CREATE TABLE IF NOT EXISTS ledger_entries_incoming AS ledger_entries ENGINE = Null
;
-- A leg is its entry id (`<transaction>/<leg>`, a reversal `<transaction>/r<leg>`).
CREATE MATERIALIZED VIEW IF NOT EXISTS ledger_entries_once TO ledger_entries AS
SELECT * FROM ledger_entries_incoming
WHERE entry_id NOT IN (
    SELECT entry_id FROM ledger_entries WHERE transaction_id IN (SELECT transaction_id FROM ledger_entries_incoming)
)
;
CREATE TABLE IF NOT EXISTS decisions_incoming AS decisions ENGINE = Null
;
-- Data directories whose decisions_incoming was created before decisions.reporting_currency and
-- decisions.unconverted_currency.
ALTER TABLE decisions_incoming ADD COLUMN IF NOT EXISTS reporting_currency LowCardinality(String) DEFAULT '' AFTER features_json
;
ALTER TABLE decisions_incoming ADD COLUMN IF NOT EXISTS unconverted_currency LowCardinality(String) DEFAULT '' AFTER reporting_currency
;
CREATE MATERIALIZED VIEW IF NOT EXISTS decisions_once TO decisions AS
SELECT * FROM decisions_incoming
WHERE transaction_id NOT IN (
    SELECT transaction_id FROM decisions WHERE transaction_id IN (SELECT transaction_id FROM decisions_incoming)
)
;
CREATE TABLE IF NOT EXISTS ledger_holds_incoming AS ledger_holds ENGINE = Null
;
CREATE MATERIALIZED VIEW IF NOT EXISTS ledger_holds_once TO ledger_holds AS
SELECT * FROM ledger_holds_incoming
WHERE (transaction_id, leg) NOT IN (
    SELECT transaction_id, leg FROM ledger_holds WHERE transaction_id IN (SELECT transaction_id FROM ledger_holds_incoming)
)
;
-- A hold ends once: the first resolution stored governs.
CREATE TABLE IF NOT EXISTS ledger_hold_resolutions_incoming AS ledger_hold_resolutions ENGINE = Null
;
CREATE MATERIALIZED VIEW IF NOT EXISTS ledger_hold_resolutions_once TO ledger_hold_resolutions AS
SELECT * FROM ledger_hold_resolutions_incoming
WHERE transaction_id NOT IN (
    SELECT transaction_id FROM ledger_hold_resolutions
    WHERE transaction_id IN (SELECT transaction_id FROM ledger_hold_resolutions_incoming)
)
;
CREATE TABLE IF NOT EXISTS ledger_conflicts_incoming AS ledger_conflicts ENGINE = Null
;
CREATE MATERIALIZED VIEW IF NOT EXISTS ledger_conflicts_once TO ledger_conflicts AS
SELECT * FROM ledger_conflicts_incoming
WHERE (transaction_id, conflicting_fingerprint) NOT IN (
    SELECT transaction_id, conflicting_fingerprint FROM ledger_conflicts
    WHERE transaction_id IN (SELECT transaction_id FROM ledger_conflicts_incoming)
)
;
-- A label is the same label when transaction, verdict, who and when all match (ledger-sink's labelKey).
CREATE TABLE IF NOT EXISTS analyst_labels_incoming AS analyst_labels ENGINE = Null
;
CREATE MATERIALIZED VIEW IF NOT EXISTS analyst_labels_once TO analyst_labels AS
SELECT * FROM analyst_labels_incoming
WHERE (transaction_id, label, labelled_by, labelled_at) NOT IN (
    SELECT transaction_id, label, labelled_by, labelled_at FROM analyst_labels
    WHERE transaction_id IN (SELECT transaction_id FROM analyst_labels_incoming)
)
;
-- A transaction's shadow decision is stored once per challenger.
CREATE TABLE IF NOT EXISTS shadow_decisions_incoming AS shadow_decisions ENGINE = Null
;
CREATE MATERIALIZED VIEW IF NOT EXISTS shadow_decisions_once TO shadow_decisions AS
SELECT * FROM shadow_decisions_incoming
WHERE (transaction_id, challenger_model_version, challenger_rules_version) NOT IN (
    SELECT transaction_id, challenger_model_version, challenger_rules_version FROM shadow_decisions
    WHERE transaction_id IN (SELECT transaction_id FROM shadow_decisions_incoming)
)
;
