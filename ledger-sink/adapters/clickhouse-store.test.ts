import { NO_LINKS } from '../domain/holds.js';
import fc from 'fast-check';
import { STORABLE_TIME_MAX_MS, STORABLE_TIME_MIN_MS } from '../domain/audit.js';
import { VigilError } from '../../platform/errors.js';
import { ClickHouseTables, clickhouseTableStatements } from '../../schemas/clickhouse.js';
import { sampleTransaction } from '../../schemas/fixtures.js';
import { postingsFor } from '../domain/postings.js';
import { scoredTransaction } from '../testing/fixtures.js';
import {
  analystLabelRow,
  decisionRow,
  ledgerConflictRow,
  ledgerEntryRow,
  ledgerHoldResolutionRow,
  ledgerHoldRows,
  toDateTime64Text,
} from './clickhouse-store.js';

/** The column names of `table` in the DDL of schemas/clickhouse/tables.sql, in order (indexes left out). */
function ddlColumns(table: string): string[] {
  const statement = clickhouseTableStatements().find((s) =>
    new RegExp(`^CREATE TABLE IF NOT EXISTS ${table}\\b`).test(s),
  );
  if (statement === undefined) throw new Error(`no CREATE TABLE for ${table}`);
  // The column list sits between a line holding only '(' and one holding only ')'.
  const lines = statement.split('\n').map((line) => line.trim());
  return lines
    .slice(lines.indexOf('(') + 1, lines.indexOf(')'))
    .filter((line) => line !== '' && !line.startsWith('INDEX '))
    .map((line) => line.split(/\s+/)[0]!);
}

describe('row builders against the DDL', () => {
  const scored = scoredTransaction(3);
  const tx = scored.transaction;
  it.each([
    [ClickHouseTables.decisions, decisionRow({ scored, storedAtMs: scored.scoredAtMs + 5 })],
    [
      ClickHouseTables.ledgerEntries,
      ledgerEntryRow({
        entryId: `${tx.transactionId}/0`,
        transactionId: tx.transactionId,
        leg: 0,
        accountId: tx.payerAccountId,
        amountMinor: -tx.amountMinor,
        currency: tx.currency,
        entryType: 'PRINCIPAL',
        fingerprint: tx.fingerprint,
        eventTimeMs: tx.eventTimeMs,
        postedAtMs: tx.eventTimeMs + 5,
        reversesEntryId: '',
        capturesTransactionId: '',
        refundsTransactionId: '',
      }),
    ],
    [
      ClickHouseTables.ledgerConflicts,
      ledgerConflictRow({
        transactionId: tx.transactionId,
        acceptedFingerprint: tx.fingerprint,
        conflictingFingerprint: 'e'.repeat(64),
        detectedAtMs: tx.eventTimeMs,
        transaction: sampleTransaction(),
      }),
    ],
    [
      ClickHouseTables.analystLabels,
      analystLabelRow({
        transactionId: tx.transactionId,
        label: 'FRAUD',
        labelledBy: 'analyst:1',
        labelledAtMs: tx.eventTimeMs,
        transactionEventTimeMs: tx.eventTimeMs,
        payerAccountId: null,
        cardToken: null,
        terminalId: null,
        note: null,
      }),
    ],
    [
      ClickHouseTables.ledgerHolds,
      ledgerHoldRows({
        transactionId: tx.transactionId,
        fingerprint: tx.fingerprint,
        legs: postingsFor(sampleTransaction(), tx.receivedAtMs),
        kind: 'REVIEW',
        links: NO_LINKS,
        placedAtMs: tx.receivedAtMs,
        expiresAtMs: tx.receivedAtMs + 1000,
      })[0]!,
    ],
    [
      ClickHouseTables.ledgerHoldResolutions,
      ledgerHoldResolutionRow({
        transactionId: tx.transactionId,
        resolution: 'VOIDED',
        cause: 'EXPIRED',
        resolvedBy: 'expiry',
        resolvedAtMs: tx.receivedAtMs + 1000,
      }),
    ],
  ])('given a record, when the writer builds its %s row, then the row has exactly the DDL columns', (table, row) => {
    expect(Object.keys(row).sort()).toEqual(ddlColumns(table).sort());
  });

  it('sees a column the DDL lacks (negative control of the check above)', () => {
    const planted = { ...decisionRow({ scored, storedAtMs: scored.scoredAtMs }), not_a_column: '' };
    expect(Object.keys(planted).sort()).not.toEqual(ddlColumns(ClickHouseTables.decisions).sort());
  });
});

describe('toDateTime64Text', () => {
  it.each([
    [1_764_000_000_050, '2025-11-24 16:00:00.050'],
    [0, '1970-01-01 00:00:00.000'],
    [-1, '1969-12-31 23:59:59.999'],
    [Date.UTC(1900, 0, 1), '1900-01-01 00:00:00.000'],
    [Date.UTC(2299, 11, 31, 23, 59, 59, 999), '2299-12-31 23:59:59.999'],
  ])('given epoch ms %d, then it writes the UTC text %s', (ms, text) => {
    expect(toDateTime64Text(ms)).toBe(text);
  });

  it('agrees with Date#toISOString for any storable time, in any order of days (the day cache)', () => {
    fc.assert(
      fc.property(fc.integer({ min: STORABLE_TIME_MIN_MS, max: STORABLE_TIME_MAX_MS }), (ms) => {
        const iso = new Date(ms).toISOString();
        expect(toDateTime64Text(ms)).toBe(`${iso.slice(0, 10)} ${iso.slice(11, 23)}`);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it.each([Date.UTC(2300, 0, 1), Date.UTC(1899, 11, 31, 23, 59, 59, 999), 1.5, Number.NaN])(
    'given %d, then it refuses with TIME_NOT_STORABLE',
    (ms) => {
      let caught: unknown;
      try {
        toDateTime64Text(ms);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(VigilError);
      expect((caught as VigilError).code).toBe('TIME_NOT_STORABLE');
    },
  );
});
