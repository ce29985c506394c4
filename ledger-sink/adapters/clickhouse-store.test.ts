import { NO_LINKS } from '../domain/holds.js';
import fc from 'fast-check';
import { STORABLE_TIME_MAX_MS, STORABLE_TIME_MIN_MS } from '../domain/audit.js';
import { VigilError } from '../../platform/errors.js';
import { ClickHouseTables, clickhouseTableStatements } from '../../schemas/clickhouse.js';
import { readerType } from '../../schemas/codec.js';
import { transactionExtraOf, transactionOfDecision } from '../../schemas/decision-transaction.js';
import { sampleTransaction } from '../../schemas/fixtures.js';
import type { Transaction } from '../../schemas/generated/types.js';
import { avroValue } from '../../fuzz/avro-arbitrary.js';
import { auditJson } from '../domain/audit.js';
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

describe('the transaction of a decision row', () => {
  /** Any Transaction the schema allows, with times a decision row can store (the handler refuses others first). */
  const storableTransactions = avroValue(readerType('vigil.Transaction')).chain((value) =>
    fc
      .tuple(
        fc.integer({ min: STORABLE_TIME_MIN_MS, max: STORABLE_TIME_MAX_MS }),
        fc.integer({ min: STORABLE_TIME_MIN_MS, max: STORABLE_TIME_MAX_MS }),
      )
      .map(([eventTimeMs, receivedAtMs]): Transaction => ({ ...(value as Transaction), eventTimeMs, receivedAtMs })),
  );

  /**
   * The audit JSON of the transaction read back from the row `decisionRow` builds with `extraOf` writing
   * `transaction_json` (times as a SELECT gives them: epoch ms as a decimal string).
   */
  function readBack(tx: Transaction, extraOf: typeof transactionExtraOf): string {
    const row = decisionRow({ scored: { ...scoredTransaction(1), transaction: tx }, storedAtMs: tx.receivedAtMs });
    const stored = { ...row, transaction_json: auditJson(extraOf(tx)) };
    const selected = { ...stored, event_time_ms: String(tx.eventTimeMs), received_at_ms: String(tx.receivedAtMs) };
    return auditJson(transactionOfDecision(selected, JSON.parse(stored.transaction_json)));
  }

  const sameTransaction = (extraOf: typeof transactionExtraOf) =>
    fc.property(storableTransactions, (tx) => readBack(tx, extraOf) === auditJson(tx));

  it('given any transaction, when its row is read back, then it is the whole record in field order, exactly', () => {
    fc.assert(sameTransaction(transactionExtraOf), { seed: 9, numRuns: 3000 });
  });

  it('keeps out of transaction_json what the columns hold', () => {
    const tx = sampleTransaction({ settlement: { amountMinor: 2n ** 63n - 1n, currency: 'USD' } });
    expect(
      JSON.parse(decisionRow({ scored: { ...scoredTransaction(1), transaction: tx }, storedAtMs: 0 }).transaction_json),
    ).toEqual({
      settlement: { amountMinor: '9223372036854775807', currency: 'USD' },
      card: { bin: '411111', present: false },
      ipAddress: '192.0.2.1',
      latitude: 48.85,
      longitude: 2.35,
    });
  });

  it('returns a whole record stored before the slim form as it is', () => {
    const whole = JSON.parse(auditJson(sampleTransaction())) as unknown;
    const row = decisionRow({ scored: scoredTransaction(2), storedAtMs: 0 });
    expect(transactionOfDecision({ ...row, event_time_ms: '0', received_at_ms: '0' }, whole)).toBe(whole);
  });

  it.each([
    ["an empty text taken for the column's null", (tx: Transaction) => omit(transactionExtraOf(tx), (v) => v === '')],
    [
      'a field without a column left out',
      (tx: Transaction) => omit(transactionExtraOf(tx), (_v, k) => k === 'settlement'),
    ],
  ])('catches a writer that loses %s (negative control)', (_fault, extraOf) => {
    expect(() => fc.assert(sameTransaction(extraOf), { seed: 9, numRuns: 3000 })).toThrow();
  });
});

function omit(extra: Record<string, unknown>, drop: (value: unknown, key: string) => boolean): Record<string, unknown> {
  return Object.fromEntries(Object.entries(extra).filter(([k, v]) => !drop(v, k)));
}

describe('toDateTime64Text', () => {
  it.each([
    [1_764_000_000_050, '2025-11-24 16:00:00.050'],
    [0, '1970-01-01 00:00:00.000'],
    [-1, '1969-12-31 23:59:59.999'],
    [Date.UTC(1900, 0, 1), '1900-01-01 00:00:00.000'],
    [Date.UTC(2299, 11, 31, 23, 59, 59, 999), '2299-12-31 23:59:59.999'],
    [Date.UTC(1900, 1, 28, 23, 59, 59, 999), '1900-02-28 23:59:59.999'],
    [Date.UTC(1900, 2, 1), '1900-03-01 00:00:00.000'], // 1900 is no leap year
    [Date.UTC(2000, 1, 29, 12, 0, 0, 7), '2000-02-29 12:00:00.007'], // 2000 is
    [Date.UTC(2100, 2, 1), '2100-03-01 00:00:00.000'],
    [Date.UTC(2024, 11, 31, 23, 59, 59, 999), '2024-12-31 23:59:59.999'],
  ])('given epoch ms %d, then it writes the UTC text %s', (ms, text) => {
    expect(toDateTime64Text(ms)).toBe(text);
  });

  it('agrees with Date#toISOString for any storable time, in any order of days and seconds (the caches)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: STORABLE_TIME_MIN_MS + 2000, max: STORABLE_TIME_MAX_MS - 2000 }),
        fc.array(fc.integer({ min: -2000, max: 2000 }), { maxLength: 8 }),
        (start, offsets) => {
          for (const ms of [start, ...offsets.map((offset) => start + offset)]) {
            const iso = new Date(ms).toISOString();
            expect(toDateTime64Text(ms)).toBe(`${iso.slice(0, 10)} ${iso.slice(11, 23)}`);
          }
        },
      ),
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
