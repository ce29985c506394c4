import { stringify } from 'csv-stringify/sync';
import type { AccountStatement } from '../../schemas/api.js';

/** The columns of a statement as CSV, in order. */
export const STATEMENT_CSV_COLUMNS = [
  'record',
  'currency',
  'posted_at',
  'value_date',
  'transaction_id',
  'entry_id',
  'entry_type',
  'reverses_entry_id',
  'amount',
  'balance',
] as const;

/**
 * A statement as CSV (RFC 4180, through csv-stringify), one table a spreadsheet or a reconciliation job reads
 * without knowing the JSON: per currency an `OPENING` row, then every `ENTRY` in booking order with its running
 * balance, then a `CLOSING` row; then the holds still open at the end (`OPEN_HOLD`, amount reserved, not booked);
 * last, a `TRUNCATED` row when the period held more entries than the limit (the lines stop early; OPENING and
 * CLOSING stay exact). Amounts are the exact decimal text of the minor units (`-12.50`), never floats. Without a
 * TRUNCATED row, opening + Σ entries = closing per currency.
 */
export function statementCsv(statement: AccountStatement): string {
  const rows: string[][] = [];
  for (const c of statement.currencies) {
    rows.push(['OPENING', c.currency, statement.from, '', '', '', '', '', '', c.opening.amount]);
    for (const line of statement.lines.filter((l) => l.amount.currency === c.currency))
      rows.push([
        'ENTRY',
        c.currency,
        line.postedAt,
        line.eventTime,
        line.transactionId,
        line.entryId,
        line.entryType,
        line.reversesEntryId ?? '',
        line.amount.amount,
        line.balanceAfter.amount,
      ]);
    rows.push(['CLOSING', c.currency, statement.to, '', '', '', '', '', '', c.closing.amount]);
  }
  for (const hold of statement.openHoldsAtEnd)
    rows.push([
      'OPEN_HOLD',
      hold.amount.currency,
      hold.placedAt,
      '',
      hold.transactionId,
      '',
      '',
      '',
      hold.amount.amount,
      '',
    ]);
  if (statement.truncated) rows.push(['TRUNCATED', '', '', '', '', '', '', '', '', '']);
  return stringify(rows, { header: true, columns: [...STATEMENT_CSV_COLUMNS], record_delimiter: '\r\n' });
}
