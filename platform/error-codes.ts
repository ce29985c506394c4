/**
 * The one catalogue of Vigil's error codes: every `code` a VigilError carries, what it means to an operator and
 * the category (hence HTTP status and retry policy) it is reported with. `VigilError` takes only these keys, so a
 * misspelt code fails typecheck; each HTTP server serves every entry at `/problems/<CODE>` (platform/http.ts),
 * which is where a problem response's `type` points.
 *
 * A category given at the throw site wins over the one here; keep them equal (the entry is what operators read).
 */
import type { ErrorCategory } from './errors.js';

export interface ErrorCodeEntry {
  /** How an edge reports it (HTTP status, retry) unless the throw site says otherwise. */
  readonly category: ErrorCategory;
  /** One sentence an operator can act on: what happened and what to do about it. */
  readonly meaning: string;
}

export const errorCatalogue = {
  // ── Kernel: config, auth, HTTP edge, dead letters ───────────────────────────────────────────────────────
  VALIDATION_FAILED: {
    category: 'invalid_input',
    meaning: 'The input failed validation; `problems` lists every offending field by path — fix those and resend.',
  },
  CONFIG_INVALID: {
    category: 'internal',
    meaning: 'A configuration key is missing or out of range; the message names the key and the allowed values.',
  },
  UNAUTHENTICATED: {
    category: 'unauthenticated',
    meaning:
      'The request carried no known API key and no valid access token (the message says why a token was refused: ' +
      'expired, another issuer, another audience); send "Authorization: Bearer" and a key, or sign in again. On the ' +
      'Adyen webhook route: its basic-auth credentials were missing or wrong (counted with the signature failures).',
  },
  FORBIDDEN: {
    category: 'forbidden',
    meaning:
      'The key or token is valid but its role may not use this route, or the token maps to no Vigil role; use a ' +
      'key or a person of a role the message lists.',
  },
  IDENTITY_PROVIDER_UNAVAILABLE: {
    category: 'unavailable',
    meaning:
      "An access token could not be checked because the OpenID provider's discovery document or keys could not be " +
      'fetched; check VIGIL_OIDC_ISSUER and that the provider is reachable, then retry.',
  },
  RATE_LIMITED: {
    category: 'rate_limited',
    meaning:
      'This API key or client address sent more requests than its rate limit allows; wait the Retry-After seconds.',
  },
  NO_PRINCIPAL: {
    category: 'internal',
    meaning: 'A route reads the caller without having authenticated it (requireRole is missing): a bug to report.',
  },
  INTERNAL: {
    category: 'internal',
    meaning: 'An unexpected failure; the server logged it with its stack trace — look there and report it.',
  },
  UNEXPECTED_ERROR: {
    category: 'internal',
    meaning: 'A dead letter caused by an error without a Vigil code (a bug); its reason field says what was thrown.',
  },
  BODY_TOO_LARGE: {
    category: 'too_large',
    meaning: 'The request body exceeds the size limit of this route; send less per request (e.g. smaller batches).',
  },
  MALFORMED_JSON: {
    category: 'invalid_input',
    meaning: 'The body (or one NDJSON line) is not valid UTF-8 JSON; the message says where parsing stopped.',
  },
  BAD_REQUEST: {
    category: 'invalid_input',
    meaning: 'The HTTP layer refused the request before it reached a route (e.g. a bad content encoding).',
  },
  ROUTE_NOT_FOUND: {
    category: 'not_found',
    meaning: 'No route or WebSocket endpoint serves this method and path; check the URL against the API docs.',
  },
  UNKNOWN_PROBLEM_TYPE: {
    category: 'not_found',
    meaning: 'A problem-type page was asked for a code this build does not have; check the code in the URL.',
  },

  PERSONAL_DATA_CORRUPT: {
    category: 'internal',
    meaning:
      'A sealed personal value failed AES-GCM authentication: it was altered at rest, or a key file was replaced; restore the store from a backup.',
  },
  CUSTOMER_KEY_STORE_FAILED: {
    category: 'unavailable',
    meaning:
      'The per-customer key store could not be read or written (disk full, permissions); nothing was sealed or erased — fix the store and retry.',
  },
  CUSTOMER_KEYS_MASTER_KEY_MISMATCH: {
    category: 'internal',
    meaning:
      "A customer's data key on the customer.keys topic was wrapped under another master key than this process's VIGIL_PERSONAL_DATA_MASTER_KEY: give every ingest and dashboards process the same master key.",
  },
  PERSONAL_DATA_KEYS_OFF: {
    category: 'conflict',
    meaning:
      'This process has no per-customer key store, so personal data is not sealed and cannot be erased or exported here; in distributed mode set VIGIL_PERSONAL_DATA_MASTER_KEY (SECURITY.md).',
  },
  // ── Bus, shared by both adapters (embedded log and Kafka): stage code matches on one code either way ──────
  UNKNOWN_TOPIC: {
    category: 'not_found',
    meaning: 'The topic does not exist (Vigil never auto-creates topics); create it with ensureTopics at startup.',
  },
  INVALID_TOPIC: {
    category: 'invalid_input',
    meaning: 'A topic name, partition count or replication factor that Kafka refuses; the problems name which.',
  },
  INVALID_PARTITION: {
    category: 'invalid_input',
    meaning: 'A partition number outside [0, partitionCount) of the topic: a caller bug.',
  },
  INVALID_ARGUMENT: {
    category: 'invalid_input',
    meaning: 'A bus option of the wrong shape (negative offset, empty group id, unknown commit mode, …).',
  },
  OFFSET_OUT_OF_RANGE: {
    category: 'invalid_input',
    meaning: 'A read outside [logStartOffset, endOffset] of a partition; the records asked for are not there.',
  },
  RECORD_TOO_LARGE: {
    category: 'too_large',
    meaning: 'A record exceeds the bus limit (maxRecordBytes, or Kafka message.max.bytes); send smaller records.',
  },
  LOG_CLOSED: {
    category: 'unavailable',
    meaning: 'The bus was closed (the process is shutting down); it does not come back without a restart.',
  },
  SUBSCRIPTION_CLOSED: {
    category: 'invalid_input',
    meaning: 'commit() was called on a closed subscription; its records will be redelivered to the next member.',
  },

  // ── Kafka adapter only ──────────────────────────────────────────────────────────────────────────────────
  KAFKA_UNAVAILABLE: {
    category: 'unavailable',
    meaning: 'No Kafka broker answered in time; retried automatically — check the brokers and the network.',
  },
  KAFKA_REBALANCED: {
    category: 'conflict',
    meaning: 'The consumer group rebalanced before an offset commit landed; the records are redelivered.',
  },
  KAFKA_REQUEST_FAILED: {
    category: 'internal',
    meaning: 'Kafka or kafkajs refused a request for another reason; details.kafkaError names the broker error.',
  },
  KAFKA_AUTHENTICATION_FAILED: {
    category: 'unauthenticated',
    meaning:
      'The brokers refused the SASL user or password (VIGIL_KAFKA_SASL_*); not retried — fix the credentials and restart.',
  },

  // ── Embedded log only ───────────────────────────────────────────────────────────────────────────────────
  LOG_LOCKED: {
    category: 'conflict',
    meaning: 'Another live process holds the log directory; stop it, or give this process its own data directory.',
  },
  LOG_IO_FAILED: {
    category: 'unavailable',
    meaning: 'A file operation of the embedded log failed (disk full, permissions); retried — check the disk.',
  },
  LOG_PARTITION_FAILED: {
    category: 'unavailable',
    meaning: 'A partition saw a failed write or fsync and refuses appends; fix the disk and restart to recover it.',
  },
  LOG_DISK_FULL: {
    category: 'unavailable',
    meaning:
      'The disk of the embedded log is full (ENOSPC/EDQUOT); the append was rolled back and not acknowledged — retry after Retry-After, free space; appends resume without a restart.',
  },
  LOG_CORRUPT: {
    category: 'internal',
    meaning: 'A log frame failed its CRC where no crash could have torn it; the disk or a copy damaged the file.',
  },
  GROUP_ALREADY_ACTIVE: {
    category: 'conflict',
    meaning: 'A second subscribe with a group id that already has a member in this process: a wiring bug.',
  },

  // ── Schemas: codec and registry ─────────────────────────────────────────────────────────────────────────
  TRUNCATED_RECORD: {
    category: 'invalid_input',
    meaning: 'A record is shorter than the 5-byte Confluent header; it was not written by a Vigil codec.',
  },
  BAD_MAGIC_BYTE: {
    category: 'invalid_input',
    meaning: 'A record does not start with the Confluent magic byte 0; a foreign producer wrote to the topic.',
  },
  CORRUPT_BODY: {
    category: 'invalid_input',
    meaning: 'A record body does not decode with the writer schema its header names; the bytes are damaged.',
  },
  INCOMPATIBLE_SCHEMA: {
    category: 'invalid_input',
    meaning: "The record's writer schema cannot be read as this build's schema; deploy a compatible version.",
  },
  INVALID_VALUE: {
    category: 'invalid_input',
    meaning: 'A value to encode does not match its Avro schema (a bug in the producing stage).',
  },
  SCHEMA_INCOMPATIBLE: {
    category: 'conflict',
    meaning:
      "A writer schema was refused for a subject: at the subject's compatibility level its readers cannot read it (or it cannot read them); nothing was produced with it — add fields with defaults, never change a field's type, or use a new topic.",
  },
  UNKNOWN_SCHEMA_ID: {
    category: 'invalid_input',
    meaning: "A record names a schema id the registry does not know; it came from another registry's producer.",
  },
  REGISTRY_UNAVAILABLE: {
    category: 'unavailable',
    meaning: 'The schema registry did not answer; retried — check that it runs at the configured URL.',
  },
  REGISTRY_BAD_RESPONSE: {
    category: 'unavailable',
    meaning: 'The schema registry answered without the id or schema asked for; check the registry version.',
  },
  REGISTRY_ERROR: {
    category: 'unavailable',
    meaning: 'The schema registry answered with an error status; the message gives the request and the status.',
  },
  REGISTRY_REFUSED: {
    category: 'invalid_input',
    meaning:
      "The schema registry refused the request as unprocessable (HTTP 422, e.g. Confluent 42201 invalid schema); the same request is refused again, so it is not retried — the message has the registry's reason.",
  },

  // ── Ingest ──────────────────────────────────────────────────────────────────────────────────────────────
  INGEST_CLOSED: {
    category: 'unavailable',
    meaning: 'Ingest is shutting down and takes no new transactions; resend to another instance or after restart.',
  },
  TRANSACTION_ID_CONFLICT: {
    category: 'conflict',
    meaning: 'This transaction id was accepted before with different content; use a new id for a new transaction.',
  },
  EMPTY_BATCH: {
    category: 'invalid_input',
    meaning: 'A batch request held no transactions; send at least one.',
  },
  BATCH_TOO_LARGE: {
    category: 'too_large',
    meaning: 'A batch holds more items than the configured maximum; split it.',
  },
  CHANNEL_FILE_REFUSED: {
    category: 'invalid_input',
    meaning:
      'A channel file (ISO 20022, CSV, NACHA) or gateway event could not be read as a whole — unsafe (a DOCTYPE), not well-formed, an unsupported message, no message id, or NACHA controls that do not add up; `problems` says where (element path, line, record number). Nothing in it was ingested.',
  },
  CHANNEL_FILE_CONFLICT: {
    category: 'conflict',
    meaning:
      'A channel file with this message id was received before with other content; give a corrected file a new message id.',
  },
  CHANNEL_ITEM_INVALID: {
    category: 'invalid_input',
    meaning:
      'An item of a channel file was refused for what the file itself shows (an amount, a currency, a missing element); its dead letter and problems name the location in the file.',
  },
  WEBHOOK_SIGNATURE_INVALID: {
    category: 'invalid_input',
    meaning:
      'A gateway webhook (Stripe, Adyen) came without a valid signature of the configured secret (for Adyen, any item of the notification without a valid HMAC), or signed too long ago; nothing in it was read. Counted and logged; check the endpoint secret or HMAC key.',
  },
  WEBHOOK_NOT_CONFIGURED: {
    category: 'unavailable',
    meaning:
      'A gateway webhook arrived but its secret is not configured (VIGIL_STRIPE_WEBHOOK_SECRET, VIGIL_ADYEN_HMAC_KEY); the gateway retries while it is set.',
  },
  LOG_APPEND_FAILED: {
    category: 'unavailable',
    meaning: 'Accepted transactions could not be written to the transaction log; resend — duplicates are detected.',
  },
  DEAD_LETTER_FAILED: {
    category: 'unavailable',
    meaning: 'Refused items could not be written to the dead-letter topic; resend the request later.',
  },
  LOG_POSITIONS_MISMATCH: {
    category: 'internal',
    meaning: 'The bus returned a different number of positions than records sent: a bus adapter bug.',
  },
  TRANSACTION_ENCODE_FAILED: {
    category: 'internal',
    meaning: 'A validated transaction did not fit the Avro schema: validation and schema disagree (a bug).',
  },
  INGEST_INVARIANT: {
    category: 'internal',
    meaning: 'An accepted item has no log position: a broken invariant of ingest (a bug).',
  },
  INGEST_NO_RESULT: {
    category: 'internal',
    meaning: 'Ingest returned no result for a single transaction: a broken invariant of ingest (a bug).',
  },
  IDEMPOTENCY_STORE_CLOSED: {
    category: 'unavailable',
    meaning: 'The idempotency store is closed (shutdown); accepted ids are not recorded until restart.',
  },
  IDEMPOTENCY_JOURNAL_DISK_FULL: {
    category: 'unavailable',
    meaning:
      'The disk of the idempotency journal is full; the torn line was cut off and the ids are written once space returns (a restart before that forgets them).',
  },
  IDEMPOTENCY_JOURNAL_FAILED: {
    category: 'unavailable',
    meaning: 'Appending to the idempotency journal failed and it stopped writing; check the disk and restart.',
  },
  IDEMPOTENCY_CLAIM_PENDING: {
    category: 'unavailable',
    meaning:
      'Another ingest replica holds a claim on this transaction id and has not yet written or released it; resend after Retry-After.',
  },
  IDEMPOTENCY_CLAIMS_UNAVAILABLE: {
    category: 'unavailable',
    meaning:
      'The idempotency claims topic could not be written or read back in time (Kafka away or slow); resend — duplicates are detected.',
  },

  // ── Scoring ─────────────────────────────────────────────────────────────────────────────────────────────
  RULES_UNREADABLE: {
    category: 'invalid_input',
    meaning: 'The rules file cannot be read as JSON; check the configured path and its syntax.',
  },
  RULES_INVALID: {
    category: 'invalid_input',
    meaning: 'The rules file is JSON but breaks the rules format; `problems` lists every offending field.',
  },
  FX_RATES_UNREADABLE: {
    category: 'invalid_input',
    meaning: 'The FX rate file (VIGIL_FX_RATES_FILE) cannot be read as JSON; check the path and its syntax.',
  },
  FX_RATES_INVALID: {
    category: 'invalid_input',
    meaning:
      'The FX rate table breaks its format (source, date, base, rates as positive decimal strings of ISO 4217 codes) or has no rate for the reporting currency; `problems` lists every offending field.',
  },
  RULES_ARCHIVE_UNAVAILABLE: {
    category: 'unavailable',
    meaning:
      'Scoring could not archive the loaded rules version in ClickHouse (rules_versions); scoring does not start without it — check ClickHouse.',
  },
  RULES_ARCHIVE_CORRUPT: {
    category: 'internal',
    meaning:
      'An archived rules document no longer hashes to its version (edited in place); it cannot re-derive decisions.',
  },
  RULES_VERSION_NOT_FOUND: {
    category: 'not_found',
    meaning:
      'No archived rules document has this version; versions from before content hashes (labels such as 2024.11.1) were never archived.',
  },
  RULES_NOT_PUBLISHED: {
    category: 'not_found',
    meaning:
      'No rules were ever put in force through PUT /v1/rules: scoring decides with its rules file, whose version each decision names.',
  },
  SHADOW_INVALID: {
    category: 'invalid_input',
    meaning:
      'The challenger cannot be put in place: `problems` lists every offending field (rules that break the rules format, a model version with no candidate artefact that fits this build, with the directory read).',
  },
  SHADOW_NOT_SET: {
    category: 'not_found',
    meaning:
      'No challenger is set (none was put with PUT /v1/shadow, or it was stopped or promoted): there is nothing to promote or show.',
  },
  CASE_NOT_FOUND: {
    category: 'not_found',
    meaning: 'No case has this id; cases are opened by REVIEW and DECLINE alerts (GET /v1/cases lists them).',
  },
  CASE_ACTION_REFUSED: {
    category: 'conflict',
    meaning:
      'The case is not in a state that allows this action (resolved cases stay resolved; only the assignee ' +
      'investigates; a release waits for its approval), or another analyst acted on it first: reload the case.',
  },
  CASES_UNAVAILABLE: {
    category: 'unavailable',
    meaning:
      'The case log could not be written, or this process did not fold the step in time; retry after reloading the ' +
      'case (the step may have taken effect).',
  },
  CASE_RELEASE_NEEDS_APPROVAL: {
    category: 'conflict',
    meaning:
      'A GENUINE label would book a held payment above the four-eyes limit that is part of a case: resolve the case ' +
      'as genuine instead, so a second analyst approves the release.',
  },
  CASE_FOUR_EYES_SAME_PERSON: {
    category: 'forbidden',
    meaning:
      'The release of a held payment above the four-eyes limit must be approved by a second analyst; the person ' +
      'who asked for it cannot approve it.',
  },
  MODEL_UNAVAILABLE: {
    category: 'unavailable',
    meaning: 'The model artefact cannot be read or does not fit this build; retrain or point to a matching one.',
  },
  SNAPSHOT_UNREADABLE: {
    category: 'unavailable',
    meaning: 'The scoring feature snapshot cannot be read or decoded; move it aside to rebuild state from the log.',
  },

  // ── Ledger sink ─────────────────────────────────────────────────────────────────────────────────────────
  UNEXPECTED_TOPIC: {
    category: 'internal',
    meaning: 'The ledger sink was handed a batch of a topic it does not consume: a wiring bug.',
  },
  LEDGER_CONFLICT: {
    category: 'conflict',
    meaning: 'A transaction id reached the ledger with a fingerprint other than the accepted one; not posted.',
  },
  UNSTORABLE_DECISION: {
    category: 'invalid_input',
    meaning: 'A decision holds a value ClickHouse cannot store exactly (time out of range, non-finite number).',
  },
  UNSTORABLE_LABEL: {
    category: 'invalid_input',
    meaning: 'An analyst label has a time outside what ClickHouse stores (1900..2299); it was dead-lettered.',
  },
  AUDIT_NOT_INDEXED: {
    category: 'invalid_input',
    meaning: 'A decision is in the ledger but the audit index refused its document for good (e.g. the mapping).',
  },
  AUDIT_INDEX_UNAVAILABLE: {
    category: 'unavailable',
    meaning: 'Elasticsearch did not accept audit documents; retried — check the cluster health.',
  },
  LEDGER_DECISION_NOT_STORED: {
    category: 'unavailable',
    meaning:
      'A hold or booked transaction has no stored decision to name its kind in a ledger event yet (a decision batch interrupted mid-insert); retried until its redelivery stores it.',
  },
  LEDGER_STORE_UNAVAILABLE: {
    category: 'unavailable',
    meaning: 'The ledger store (ClickHouse) failed a read or write; retried — check ClickHouse.',
  },
  TIME_NOT_STORABLE: {
    category: 'invalid_input',
    meaning: 'An epoch-ms time is outside what ClickHouse DateTime64(3) holds.',
  },
  UNBALANCED_POSTING: {
    category: 'internal',
    meaning: 'Posting entries of one currency do not sum to zero: a broken ledger invariant, nothing was written.',
  },
  LEDGER_INT64_OVERFLOW: {
    category: 'internal',
    meaning: 'A posting leg or running sum leaves the Int64 range of ledger_entries.amount_minor; not posted.',
  },
  INVALID_AMOUNT: {
    category: 'invalid_input',
    meaning: 'An amount is not a positive whole number of minor units that fits Int64; not posted.',
  },
  RESERVED_ACCOUNT_ID: {
    category: 'invalid_input',
    meaning: 'A payer or payee id uses the reserved "fx:" account prefix; not posted.',
  },
  SETTLEMENT_MISMATCH: {
    category: 'invalid_input',
    meaning: "A settlement in the transaction's own currency names another amount: ambiguous, not posted.",
  },
  REFUND_AFTER_REVERSAL: {
    category: 'conflict',
    meaning:
      'A refund of a payment a FRAUD verdict (analyst, chargeback, return) already reversed: the reversal gave the money back, so the refund books nothing; its decision is stored with this reason.',
  },
  REFUND_EXCEEDS_PAYMENT: {
    category: 'conflict',
    meaning:
      'A refund larger, on some leg, than its payment still holds (what it booked, or its captures did, less earlier refunds): it books nothing; its decision is stored with this reason.',
  },

  // ── Dashboards ──────────────────────────────────────────────────────────────────────────────────────────
  TRANSACTION_NOT_FOUND: {
    category: 'not_found',
    meaning: 'No decision is recorded for this transaction id (yet); check the id, or retry once it is scored.',
  },
  ACCOUNT_NOT_FOUND: {
    category: 'not_found',
    meaning: 'The ledger holds no entries for this account id.',
  },
  TOO_MANY_LIVE_CLIENTS: {
    category: 'unavailable',
    meaning: 'The live feed has its maximum number of WebSocket clients; close another one or retry later.',
  },
  ACCESS_LOG_UNAVAILABLE: {
    category: 'unavailable',
    meaning:
      'The access log could not be written, so the request was refused (fail closed); check ClickHouse and retry.',
  },
  AUDIT_SEARCH_FAILED: {
    category: 'internal',
    meaning: 'Elasticsearch rejected an audit search as malformed: a query bug in dashboards.',
  },
  AUDIT_SEARCH_UNAVAILABLE: {
    category: 'unavailable',
    meaning: 'The audit search index (Elasticsearch) is unavailable; retry later and check the cluster.',
  },
  AUDIT_DOCUMENT_WITHOUT_SOURCE: {
    category: 'internal',
    meaning: 'An audit document came back without _source; the index mapping disables it — fix the index template.',
  },
  REPORT_QUERY_FAILED: {
    category: 'internal',
    meaning: 'ClickHouse rejected a dashboards query: a query bug or a schema the build does not expect.',
  },
  REPORT_STORE_UNAVAILABLE: {
    category: 'unavailable',
    meaning: 'The report store (ClickHouse) is unavailable; retry later and check ClickHouse.',
  },

  // ── Simulator ───────────────────────────────────────────────────────────────────────────────────────────
  SIMULATOR_OPTIONS_INVALID: {
    category: 'invalid_input',
    meaning: 'Simulator options are out of range; `problems` names each option and its allowed range.',
  },
  SIMULATOR_STATE_UNREADABLE: {
    category: 'internal',
    meaning:
      'The simulated world saved in <data dir>/simulator/ cannot be read; restore it from a backup or move it away to start a new world.',
  },
  API_KEY_NOT_FOUND: {
    category: 'not_found',
    meaning:
      'No managed API key has this id; list them with GET /v1/api-keys (keys configured with VIGIL_API_KEYS are not managed through the API).',
  },
  // ── Notifier (webhooks) ─────────────────────────────────────────────────────────────────────────────────
  WEBHOOK_NOT_FOUND: {
    category: 'not_found',
    meaning: 'No webhook endpoint has this id (it may have been deleted); list them with GET /v1/webhooks.',
  },
  WEBHOOK_TARGET_BLOCKED: {
    category: 'unavailable',
    meaning:
      'A webhook delivery was not sent: the target resolved to a loopback, private, link-local or otherwise non-public address; the attempt is retried, and listing the target on VIGIL_WEBHOOK_ALLOWED_TARGETS lets it through if it is meant.',
  },
  WEBHOOK_DELIVERY_FAILED: {
    category: 'unavailable',
    meaning:
      'A webhook receiver did not answer (refused, reset or timed out); the delivery is retried with backoff for the retry period.',
  },
  WEBHOOK_ENDPOINT_DISABLED: {
    category: 'conflict',
    meaning:
      'The webhook endpoint is disabled (its receiver answered 410 Gone or failed too often in a row); once the receiver works, POST /v1/webhooks/{id}/enable resumes its deliveries.',
  },
  WEBHOOK_REPLAY_TOO_LARGE: {
    category: 'too_large',
    meaning: 'A replay range holds more events than one replay may re-send; replay a shorter range.',
  },
  EMAIL_NOTIFICATIONS_OFF: {
    category: 'conflict',
    meaning:
      'E-mail notifications are off on this server: set VIGIL_SMTP_URL, VIGIL_SMTP_FROM and VIGIL_PUBLIC_URL and restart.',
  },
  EMAIL_SUBSCRIPTION_EXISTS: {
    category: 'conflict',
    meaning:
      'This address already has an active e-mail subscription; delete it first to register it with other settings.',
  },
  EMAIL_SUBSCRIPTION_NOT_FOUND: {
    category: 'not_found',
    meaning:
      'No e-mail subscription has this id (it may have been deleted); list them with GET /v1/notifications/email.',
  },
  EMAIL_UNSUBSCRIBE_TOKEN_INVALID: {
    category: 'not_found',
    meaning:
      'The unsubscribe link is not one Vigil issued, or its subscription was deleted (then nothing is mailed to it anyway).',
  },
  NOTIFIER_CLOSED: {
    category: 'unavailable',
    meaning: 'The notifier is shutting down; pending deliveries resume after the restart (same event ids).',
  },
} as const satisfies Readonly<Record<string, ErrorCodeEntry>>;

/** Every code a VigilError may carry. */
export type ErrorCode = keyof typeof errorCatalogue;

/** True if `code` is in the catalogue (e.g. a code read back from a dead letter or a URL). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCatalogue, code);
}

/**
 * The codes both bus adapters (embedded log and Kafka) throw with the same meaning, by name. Adapter-only codes
 * live beside their adapter (KafkaBusErrorCode, EmbeddedLogErrorCode); all of them are catalogue entries.
 */
export const BusErrorCode = {
  unknownTopic: 'UNKNOWN_TOPIC',
  invalidTopic: 'INVALID_TOPIC',
  invalidPartition: 'INVALID_PARTITION',
  invalidArgument: 'INVALID_ARGUMENT',
  offsetOutOfRange: 'OFFSET_OUT_OF_RANGE',
  recordTooLarge: 'RECORD_TOO_LARGE',
  busClosed: 'LOG_CLOSED',
  subscriptionClosed: 'SUBSCRIPTION_CLOSED',
} as const satisfies Readonly<Record<string, ErrorCode>>;
export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];
