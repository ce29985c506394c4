import type { AccountStatement } from '../../schemas/api.js';
import { moneyView } from './money.js';
import { statementCsv } from './statement-csv.js';

const statement = (overrides: Partial<AccountStatement> = {}): AccountStatement => ({
  accountId: 'acc-1',
  from: '2026-12-01T00:00:00.000Z',
  to: '2026-12-02T00:00:00.000Z',
  currencies: [
    { currency: 'EUR', opening: moneyView(1000n, 'EUR'), closing: moneyView(-250n, 'EUR'), entriesInPeriod: 2 },
  ],
  lines: [
    {
      entryId: 'tx-1/0',
      transactionId: 'tx-1',
      leg: 0,
      entryType: 'PRINCIPAL',
      eventTime: '2026-11-01T10:00:00.000Z',
      postedAt: '2026-12-01T10:00:00.000Z',
      reversesEntryId: null,
      amount: moneyView(-1500n, 'EUR'),
      balanceAfter: moneyView(-500n, 'EUR'),
    },
    {
      entryId: 'tx-1/r0',
      transactionId: 'tx-1',
      leg: 2,
      entryType: 'PRINCIPAL',
      eventTime: '2026-11-01T10:00:00.000Z',
      postedAt: '2026-12-01T11:00:00.000Z',
      reversesEntryId: 'tx-1/0',
      amount: moneyView(250n, 'EUR'),
      balanceAfter: moneyView(-250n, 'EUR'),
    },
  ],
  truncated: false,
  openHoldsAtEnd: [],
  ...overrides,
});

describe('statementCsv', () => {
  it('writes opening, entries with running balance, closing and open holds as exact decimals', () => {
    const csv = statementCsv({
      ...statement(),
      openHoldsAtEnd: [
        {
          transactionId: 'tx-"quoted", held',
          amount: moneyView(-4000n, 'EUR'),
          placedAt: '2026-12-01T12:00:00.000Z',
          expiresAt: '2026-12-04T12:00:00.000Z',
        },
      ],
    });
    expect(csv.split('\r\n')).toEqual([
      'record,currency,posted_at,value_date,transaction_id,entry_id,entry_type,reverses_entry_id,amount,balance',
      'OPENING,EUR,2026-12-01T00:00:00.000Z,,,,,,,10.00',
      'ENTRY,EUR,2026-12-01T10:00:00.000Z,2026-11-01T10:00:00.000Z,tx-1,tx-1/0,PRINCIPAL,,-15.00,-5.00',
      'ENTRY,EUR,2026-12-01T11:00:00.000Z,2026-11-01T10:00:00.000Z,tx-1,tx-1/r0,PRINCIPAL,tx-1/0,2.50,-2.50',
      'CLOSING,EUR,2026-12-02T00:00:00.000Z,,,,,,,-2.50',
      // RFC 4180: a field with quotes or commas is quoted, its quotes doubled.
      'OPEN_HOLD,EUR,2026-12-01T12:00:00.000Z,,"tx-""quoted"", held",,,,-40.00,',
      '',
    ]);
  });

  it('marks a truncated statement, so opening + entries = closing is not assumed', () => {
    expect(
      statementCsv(statement({ truncated: true }))
        .trimEnd()
        .split('\r\n')
        .at(-1),
    ).toBe('TRUNCATED,,,,,,,,,');
  });
});
