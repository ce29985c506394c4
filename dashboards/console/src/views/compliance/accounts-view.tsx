import { useEffect, useState } from 'preact/hooks';
import type {
  AccountBalance,
  AccountList,
  AccountStatement,
  ConfiguredAccountView,
  StatementLine,
} from '../../../../../schemas/api.js';
import { must } from '../../api/client.js';
import { type Column, DataTable } from '../../components/table.js';
import type { ConsoleContext } from '../../context.js';
import { dateTimeOf } from '../../format.js';
import { formatMoney } from '../../money.js';
import { downloadText, isoOfLocal, localOfMs } from './csv.js';

const DAY_MS = 86_400_000;
type Balance = AccountBalance['balances'][number];

/**
 * An account's balances (`GET /v1/accounts/:id/balance`) and its statement for a period
 * (`GET /v1/accounts/:id/statement`), the account typed or picked from the chart of accounts (`GET /v1/accounts`).
 * The CSV export is the API's own (`Accept: text/csv` on the statement), for the period shown.
 */
export function AccountsView({ ctx, accountId }: { ctx: ConsoleContext; accountId: string | undefined }) {
  const [chart, setChart] = useState<readonly ConfiguredAccountView[]>([]);
  const [id, setId] = useState(accountId ?? '');
  const [from, setFrom] = useState(() => localOfMs(Date.now() - 31 * DAY_MS));
  const [to, setTo] = useState(() => localOfMs(Date.now() + 60_000));
  const [balance, setBalance] = useState<AccountBalance | null | undefined>(undefined);
  const [statement, setStatement] = useState<AccountStatement | undefined>(undefined);
  const [status, setStatus] = useState('');

  useEffect(() => {
    must(ctx.api.GET('/v1/accounts', { params: { query: {} } })).then(
      (list) => setChart((list as unknown as AccountList).accounts),
      (error: Error) => setStatus(`Could not load the chart of accounts: ${error.message}`),
    );
  }, [ctx.api]);

  const period = () => ({ from: isoOfLocal(from), to: isoOfLocal(to) });

  const open = async (account: string) => {
    if (account === '') return;
    setStatus(`Loading ${account}…`);
    try {
      const balanceCall = await ctx.api.GET('/v1/accounts/{id}/balance', { params: { path: { id: account } } });
      // 404: the ledger holds nothing for it yet, which a statement shows as empty as well.
      setBalance(balanceCall.response.status === 404 ? null : await must(Promise.resolve(balanceCall)));
      const body = await must(
        ctx.api.GET('/v1/accounts/{id}/statement', { params: { path: { id: account }, query: period() } }),
      );
      setStatement(body as unknown as AccountStatement);
      setStatus('');
    } catch (error) {
      setStatus(`Could not load ${account}: ${(error as Error).message}`);
    }
  };

  useEffect(() => {
    if (accountId !== undefined) void open(accountId);
    // Opened once per route parameter; the form opens any other.
  }, [accountId]);

  const exportCsv = async () => {
    if (statement === undefined) return;
    const { data, response } = await ctx.api.GET('/v1/accounts/{id}/statement', {
      params: { path: { id: statement.accountId }, query: { from: statement.from, to: statement.to } },
      headers: { accept: 'text/csv' },
      parseAs: 'text',
    });
    if (!response.ok || typeof data !== 'string') {
      setStatus(`Could not export the statement: HTTP ${response.status}`);
      return;
    }
    downloadText(`statement-${statement.accountId}.csv`, data);
  };

  const balanceColumns: Column<Balance>[] = [
    { header: 'Currency', cell: (b) => b.currency },
    { header: 'Posted', cell: (b) => formatMoney(b.posted), numeric: true },
    { header: 'Pending debits', cell: (b) => formatMoney(b.pendingDebits), numeric: true },
    { header: 'Pending credits', cell: (b) => formatMoney(b.pendingCredits), numeric: true },
    { header: 'Available', cell: (b) => formatMoney(b.available), numeric: true },
    { header: 'Overdraft limit', cell: (b) => (b.overdraftLimit === null ? '—' : formatMoney(b.overdraftLimit)) },
    { header: 'Entries', cell: (b) => b.entries, numeric: true },
    { header: 'Open holds', cell: (b) => b.openHolds, numeric: true },
  ];
  const lineColumns: Column<StatementLine>[] = [
    { header: 'Booked', cell: (l) => dateTimeOf(l.postedAt) },
    {
      header: 'Transaction',
      cell: (l) => <a href={`#/audit-trail/${encodeURIComponent(l.transactionId)}`}>{l.transactionId}</a>,
    },
    { header: 'Type', cell: (l) => l.entryType },
    { header: 'Amount', cell: (l) => formatMoney(l.amount), numeric: true },
    { header: 'Balance after', cell: (l) => formatMoney(l.balanceAfter), numeric: true },
  ];

  return (
    <section class="panel compliance" aria-labelledby="accounts-title">
      <div class="panel-head">
        <h2 id="accounts-title">Account balance and statement</h2>
      </div>
      <form
        id="account-form"
        class="filters compliance-filters"
        onSubmit={(e) => {
          e.preventDefault();
          void open(id.trim());
        }}
      >
        <label>
          Account{' '}
          <input
            id="account-id"
            type="text"
            list="account-chart"
            required
            value={id}
            onInput={(e) => setId(e.currentTarget.value)}
          />
        </label>
        <datalist id="account-chart">
          {chart.map((a) => (
            <option key={a.accountId} value={a.accountId}>
              {a.type} {a.currency}
            </option>
          ))}
        </datalist>
        <label>
          From{' '}
          <input
            id="statement-from"
            type="datetime-local"
            required
            value={from}
            onInput={(e) => setFrom(e.currentTarget.value)}
          />
        </label>
        <label>
          To{' '}
          <input
            id="statement-to"
            type="datetime-local"
            required
            value={to}
            onInput={(e) => setTo(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Open</button>
      </form>
      <p class="meta" role="status" id="account-status">
        {status}
      </p>
      {balance !== undefined && (
        <>
          <h3>Balances</h3>
          {balance === null ? (
            <p class="muted">The ledger holds no entries or holds for this account.</p>
          ) : (
            <DataTable
              id="account-balances"
              caption="Balances per currency"
              columns={balanceColumns}
              rows={balance.balances}
              rowKey={(b) => b.currency}
              empty="No balances."
            />
          )}
        </>
      )}
      {statement !== undefined && (
        <>
          <div class="panel-head">
            <h3>
              Statement {dateTimeOf(statement.from)} – {dateTimeOf(statement.to)}
            </h3>
            <button type="button" id="statement-csv" class="ghost" onClick={() => void exportCsv()}>
              Export statement as CSV
            </button>
          </div>
          <ul id="statement-currencies" class="compliance-totals">
            {statement.currencies.map((c) => (
              <li key={c.currency}>
                {c.currency}: opening {formatMoney(c.opening)}, {c.entriesInPeriod} entries, closing{' '}
                <strong>{formatMoney(c.closing)}</strong>
              </li>
            ))}
          </ul>
          {statement.truncated && <p class="notice">More entries than shown: narrow the period.</p>}
          <DataTable
            id="statement-lines"
            caption="Statement entries in booking order"
            columns={lineColumns}
            rows={statement.lines}
            rowKey={(l) => l.entryId}
            empty="No entries in this period."
          />
        </>
      )}
    </section>
  );
}
