import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import type { AccountStatement } from '../../schemas/api.js';
import { clickhouseTableStatements } from '../../schemas/clickhouse.js';
import { TrafficSimulator } from '../../simulator/generator.js';
import { accountStatement } from './accounts.js';
// Statements read what ledger-sink writes: the month is booked through ledger-sink's own postings and written by
// its real writer, so this test crosses the stage boundary on purpose.
// eslint-disable-next-line no-restricted-imports
import { ClickHouseLedgerStore } from '../../ledger-sink/adapters/clickhouse-store.js';
// eslint-disable-next-line no-restricted-imports
import { postingsFor } from '../../ledger-sink/domain/postings.js';
// eslint-disable-next-line no-restricted-imports
import type { PostedEntry } from '../../ledger-sink/ports.js';

/**
 * Statements over a simulated month: a fixed-seed month of multi-channel traffic (FX included) booked into chDB,
 * then, for the busiest accounts and an FX position, weekly statements must reconcile (opening + Σ entries =
 * closing, the running balance ending at the closing), chain (each closing is the next opening), and agree with
 * the sum of the postings booked before each cut, computed here in bigint apart from ClickHouse.
 */
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const MONTH_START_MS = Date.UTC(2026, 0, 1);
const MONTH_END_MS = MONTH_START_MS + 31 * DAY_MS;
/** Five weekly cuts cover the 31 days (the last week runs past the month's end, into no traffic). */
const CUTS_MS = Array.from({ length: 6 }, (_, week) => MONTH_START_MS + week * WEEK_MS);

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-statement-month-'));
let clickhouse: ClickHouseClient;
let store: ClickHouseLedgerStore;
const booked: PostedEntry[] = [];
let transactions = 0;

beforeAll(async () => {
  clickhouse = createClickHouseClient(`embedded:${dataDir}`);
  for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
  store = new ClickHouseLedgerStore(clickhouse);
  const simulator = new TrafficSimulator({
    seed: 20_260_101,
    startTimeMs: MONTH_START_MS,
    customers: 120,
    terminals: 200,
    meanTxPerCustomerPerDay: 1,
  });
  for (;;) {
    const { transaction } = simulator.next();
    if (transaction.eventTimeMs >= MONTH_END_MS) break;
    transactions += 1;
    // Booked when accepted, as an APPROVE is; statements are cut by this booking time.
    for (const entry of postingsFor(transaction))
      booked.push({
        ...entry,
        fingerprint: transaction.fingerprint,
        reversesEntryId: '',
        capturesTransactionId: '',
        refundsTransactionId: '',
      });
  }
  for (let i = 0; i < booked.length; i += 5_000) await store.insertEntries(booked.slice(i, i + 5_000));
}, 120_000);

afterAll(async () => {
  await clickhouse?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every way a statement fails to reconcile, per currency; empty when it does. */
function reconciliationProblems(statement: AccountStatement): string[] {
  const problems: string[] = [];
  if (statement.truncated) problems.push('truncated');
  for (const c of statement.currencies) {
    const lines = statement.lines.filter((l) => l.amount.currency === c.currency);
    const sum = lines.reduce((total, l) => total + BigInt(l.amount.amountMinor), 0n);
    const opening = BigInt(c.opening.amountMinor);
    const closing = BigInt(c.closing.amountMinor);
    if (opening + sum !== closing)
      problems.push(`${c.currency}: opening ${opening} + entries ${sum} ≠ closing ${closing}`);
    if (lines.length !== c.entriesInPeriod)
      problems.push(`${c.currency}: ${lines.length} lines, ${c.entriesInPeriod} entries`);
    let running = opening;
    for (const l of lines) {
      running += BigInt(l.amount.amountMinor);
      if (BigInt(l.balanceAfter.amountMinor) !== running)
        problems.push(
          `${c.currency}: running balance after ${l.entryId} is ${l.balanceAfter.amountMinor}, not ${running}`,
        );
    }
  }
  return problems;
}

/** The account's balance per currency from the postings booked before `toMs`, in bigint. */
function expectedBalances(accountId: string, toMs: number): Map<string, bigint> {
  const balances = new Map<string, bigint>();
  for (const e of booked)
    if (e.accountId === accountId && e.postedAtMs < toMs)
      balances.set(e.currency, (balances.get(e.currency) ?? 0n) + e.amountMinor);
  return balances;
}

const closingOf = (statement: AccountStatement): Map<string, bigint> =>
  new Map(statement.currencies.map((c) => [c.currency, BigInt(c.closing.amountMinor)]));

/** The three accounts with the most legs, and the FX position in EUR. */
function accountsToCheck(): string[] {
  const legs = new Map<string, number>();
  for (const e of booked) legs.set(e.accountId, (legs.get(e.accountId) ?? 0) + 1);
  const busiest = [...legs]
    .filter(([id]) => !id.startsWith('fx:'))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 3)
    .map(([id]) => id);
  return [...busiest, 'fx:EUR'];
}

describe('statements over a simulated month', () => {
  it('books a month of a few thousand transactions, cross-currency ones included', () => {
    // Fixed seed: the same month every run.
    expect(transactions).toBe(3_118);
    expect(booked.length).toBe(7_288);
    expect(booked.filter((e) => e.entryType === 'FX').length).toBe(1_052);
    // Two merchants, a customer and the FX position: 89, 83, 81 and 498 legs.
    expect(accountsToCheck()).toEqual(['acct-merch-000049', 'acct-merch-000028', 'acct-000012', 'fx:EUR']);
  });

  it('reconciles weekly statements of the busiest accounts and an FX position, each closing the next opening', async () => {
    for (const accountId of accountsToCheck()) {
      let previousClosing: Map<string, bigint> | undefined;
      let entriesOverWeeks = 0;
      for (let week = 0; week + 1 < CUTS_MS.length; week++) {
        const [fromMs, toMs] = [CUTS_MS[week]!, CUTS_MS[week + 1]!];
        const statement = await accountStatement(clickhouse, accountId, fromMs, toMs, 10_000);
        expect({ accountId, week, problems: reconciliationProblems(statement) }).toEqual({
          accountId,
          week,
          problems: [],
        });
        const opening = new Map(statement.currencies.map((c) => [c.currency, BigInt(c.opening.amountMinor)]));
        if (previousClosing !== undefined) {
          // A currency first seen this week opens at zero: it was not in the previous statement.
          for (const [currency, closing] of previousClosing)
            expect({ accountId, week, currency, opening: opening.get(currency) }).toEqual({
              accountId,
              week,
              currency,
              opening: closing,
            });
        }
        expect({ accountId, week, closing: closingOf(statement) }).toEqual({
          accountId,
          week,
          closing: expectedBalances(accountId, toMs),
        });
        previousClosing = closingOf(statement);
        entriesOverWeeks += statement.lines.length;
      }
      // The weeks together list every leg of the account, once.
      expect({ accountId, entriesOverWeeks }).toEqual({
        accountId,
        entriesOverWeeks: booked.filter((e) => e.accountId === accountId).length,
      });
    }
  }, 120_000);

  it('catches a statement missing an entry, and a ledger holding a leg the postings never booked', async () => {
    const [accountId] = accountsToCheck();
    const fromMs = CUTS_MS[1]!;
    const toMs = CUTS_MS[2]!;
    const statement = await accountStatement(clickhouse, accountId!, fromMs, toMs, 10_000);
    // A merchant paid in EUR and, by foreign cards online, in USD.
    expect(statement.currencies.map((c) => c.currency)).toEqual(['EUR', 'USD']);
    // Negative control of the reconciliation: the same statement without its first EUR line. The EUR sum, the
    // count and every EUR running balance after it disagree; USD still reconciles.
    const eurLines = statement.lines.filter((l) => l.amount.currency === 'EUR');
    const dropped = { ...statement, lines: statement.lines.filter((l) => l !== eurLines[0]) };
    const problems = reconciliationProblems(dropped);
    expect(problems.length).toBe(2 + eurLines.length - 1);
    expect(problems[1]).toBe(`EUR: ${eurLines.length - 1} lines, ${eurLines.length} entries`);
    expect(problems.every((p) => p.startsWith('EUR: '))).toBe(true);
    // Negative control of the comparison with the postings: a leg planted in the ledger alone.
    const [first] = statement.lines;
    await store.insertEntries([
      {
        ...booked.find((e) => e.entryId === first!.entryId)!,
        entryId: 'planted/0',
        transactionId: 'planted',
        postedAtMs: fromMs + 1,
      },
    ]);
    const planted = await accountStatement(clickhouse, accountId!, fromMs, toMs, 10_000);
    expect(reconciliationProblems(planted)).toEqual([]);
    expect(closingOf(planted)).not.toEqual(expectedBalances(accountId!, toMs));
  });
});
