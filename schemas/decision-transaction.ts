import { readerType } from './codec.js';
import type { DecisionRow, SelectedRow } from './clickhouse.js';
import type { Transaction } from './generated/types.js';

/**
 * How the scored transaction is kept in a `decisions` row. Most of it is in the row's own columns already
 * (transaction_id, amount_minor, card_token, event_time, …); `transaction_json` holds only the rest: the fields
 * without a column (settlement, the card's bin and presence, ipAddress, bankTransfer, …) when not null, and a
 * column-backed field whose column would read back differently (an empty string, where the column keeps '' for
 * null). Writing the whole record again made `transaction_json` a quarter of the row's bytes, each built, escaped
 * and parsed on every decision.
 *
 * Rows stored before hold the whole record. The two are told apart by `eventTimeMs`: a whole record always has
 * it, a slim one never (the event_time column always gives it back, since a decision is only stored with times
 * DateTime64(3) keeps exactly).
 */

/** The columns a transaction is rebuilt from, as a SELECT returns them (times as epoch ms). */
export type DecisionTransactionColumns = SelectedRow<
  DecisionRow,
  (typeof DECISION_TRANSACTION_COLUMNS)[number],
  'event_time' | 'received_at'
>;

/** The columns {@link transactionOfDecision} needs besides `transaction_json`, for the SELECT list. */
export const DECISION_TRANSACTION_COLUMNS = [
  'transaction_id',
  'fingerprint',
  'channel',
  'kind',
  'source',
  'submitted_by',
  'amount_minor',
  'currency',
  'payer_account_id',
  'payee_account_id',
  'customer_id',
  'card_token',
  'card_last4',
  'merchant_id',
  'terminal_id',
  'mcc',
  'device_id',
  'country',
  'description',
] as const;

interface ColumnBacked {
  /** The field's value (as JSON) read back from the row. */
  readonly read: (row: DecisionTransactionColumns) => unknown;
  /** Whether the column gives `value` back exactly, so transaction_json need not hold it. */
  readonly givesBack: (value: unknown) => boolean;
}

type TextColumn = (typeof DECISION_TRANSACTION_COLUMNS)[number];

const text = (column: TextColumn): ColumnBacked => ({ read: (row) => row[column], givesBack: () => true });
/** A nullable text field whose column keeps '' for null: an empty string cannot be told from null. */
const optionalText = (column: TextColumn): ColumnBacked => ({
  read: (row) => (row[column] === '' ? null : row[column]),
  givesBack: (value) => value !== '',
});

/** Transaction fields (top level) and the column each is kept in; the card is handled on its own. */
const COLUMN_BACKED: Readonly<Record<string, ColumnBacked>> = {
  transactionId: text('transaction_id'),
  fingerprint: text('fingerprint'),
  channel: text('channel'),
  kind: text('kind'),
  // Int64 as a decimal string both in the column's JSON output and in the audit JSON (bigint as a string).
  amountMinor: text('amount_minor'),
  currency: text('currency'),
  payerAccountId: text('payer_account_id'),
  payeeAccountId: text('payee_account_id'),
  customerId: optionalText('customer_id'),
  merchantId: optionalText('merchant_id'),
  terminalId: optionalText('terminal_id'),
  mcc: optionalText('mcc'),
  deviceId: optionalText('device_id'),
  country: optionalText('country'),
  description: optionalText('description'),
  source: text('source'),
  submittedBy: optionalText('submitted_by'),
  eventTimeMs: { read: (row) => Number(row.event_time_ms), givesBack: () => true },
  receivedAtMs: { read: (row) => Number(row.received_at_ms), givesBack: () => true },
};

/** The card fields kept in columns (card_token, card_last4); its other fields go to transaction_json. */
const CARD_COLUMNS = new Set(['token', 'last4']);

/**
 * What `decisions.transaction_json` holds for `tx`: the fields its columns cannot give back (see above). Values are
 * the record's own (bigints included); the writer serialises it like every audit value.
 */
export function transactionExtraOf(tx: Transaction): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  const fields = tx as unknown as Readonly<Record<string, unknown>>;
  // Own keys: avsc decodes a record into an instance whose prototype has enumerable methods.
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (name === 'card') {
      const card = tx.card;
      if (card === null) continue; // card_token '' reads back as no card
      if (card.token === '') extra[name] = card;
      else {
        const rest: Record<string, unknown> = {};
        for (const [cardField, cardValue] of Object.entries(card))
          if (!CARD_COLUMNS.has(cardField)) rest[cardField] = cardValue;
        extra[name] = rest;
      }
      continue;
    }
    const column = COLUMN_BACKED[name];
    if (column === undefined ? value !== null : !column.givesBack(value)) extra[name] = value;
  }
  return extra;
}

/**
 * The transaction of a `decisions` row as the audit trail shows it: the record exactly as scored, in the schema's
 * field order, bigints as decimal strings (the JSON of the whole record). `stored` is the parsed
 * `transaction_json`: a whole record (rows stored before the slim form) is returned as it is.
 */
export function transactionOfDecision(row: DecisionTransactionColumns, stored: unknown): unknown {
  if (!isObject(stored) || 'eventTimeMs' in stored) return stored;
  const transaction: Record<string, unknown> = {};
  for (const name of transactionFields) {
    if (name in stored) {
      transaction[name] = name === 'card' ? cardOf(row, stored[name]) : stored[name];
      continue;
    }
    if (name === 'card') transaction[name] = row.card_token === '' ? null : cardOf(row, {});
    else transaction[name] = COLUMN_BACKED[name]?.read(row) ?? null;
  }
  // Keys the schema does not know (none a writer of this build stores) are kept, not dropped.
  for (const [name, value] of Object.entries(stored)) if (!(name in transaction)) transaction[name] = value;
  return transaction;
}

function cardOf(row: DecisionTransactionColumns, stored: unknown): unknown {
  if (!isObject(stored) || 'token' in stored) return stored; // a whole card (its token was '')
  const card: Record<string, unknown> = {};
  for (const name of cardFields)
    card[name] = name === 'token' ? row.card_token : name === 'last4' ? row.card_last4 : (stored[name] ?? null);
  return card;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

interface RecordSchema {
  readonly fields: ReadonlyArray<{ readonly name: string; readonly type: unknown }>;
}

const transactionSchema = readerType('vigil.Transaction').schema() as RecordSchema;
const transactionFields = transactionSchema.fields.map((f) => f.name);
const cardFields = ((): string[] => {
  const union = transactionSchema.fields.find((f) => f.name === 'card')!.type as unknown[];
  const record = union.find((t): t is RecordSchema => isObject(t) && 'fields' in t)!;
  return record.fields.map((f) => f.name);
})();
