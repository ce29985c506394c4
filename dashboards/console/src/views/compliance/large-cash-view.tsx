import { useEffect, useState } from 'preact/hooks';
import type { LargeCashReport } from '../../../../../schemas/api.js';
import { must } from '../../api/client.js';
import { type Column, DataTable } from '../../components/table.js';
import type { ConsoleContext } from '../../context.js';
import { dateTimeOf } from '../../format.js';
import { formatMoney } from '../../money.js';
import { csvText, downloadText, isoOfLocal } from './csv.js';

type CurrencyReport = LargeCashReport['currencies'][number];
type Large = CurrencyReport['largeTransactions'][number];
type Pattern = CurrencyReport['structuring'][number];

/**
 * The CSV export's columns, built here from the report shown (the report API answers JSON only): one `STRUCTURING`
 * row per pattern, one `LARGE` row per transaction at or above its currency's threshold.
 */
export const LARGE_CASH_CSV_HEADER = [
  'record',
  'currency',
  'threshold',
  'customer_id',
  'customer_accounts',
  'kind',
  'transactions',
  'time',
  'amount',
  'transaction_ids',
] as const;

/** The report as CSV rows, patterns first, in the report's order. */
export function largeCashRows(report: LargeCashReport): Array<Array<string | number>> {
  return report.currencies.flatMap((c) => [
    ...c.structuring.map((p) => [
      'STRUCTURING',
      c.currency,
      c.threshold.amount,
      p.customerId ?? '',
      p.customerAccountIds.join(' '),
      p.kind,
      p.transactionsIn7Days,
      p.windowStart,
      p.windowTotal.amount,
      p.transactionIds.join(' '),
    ]),
    ...c.largeTransactions.map((t) => [
      'LARGE',
      c.currency,
      c.threshold.amount,
      t.customerId ?? '',
      t.customerAccountId,
      t.kind,
      1,
      t.eventTime,
      t.amount.amount,
      t.transactionId,
    ]),
  ]);
}

/**
 * The large-cash and structuring report (`GET /v1/reports/large-cash`, compliance): per currency, cash at or above
 * its own threshold and repeated cash just under it, by customer. Every configured currency with its configured
 * threshold, or one currency with a threshold given here.
 */
export function LargeCashView({ ctx }: { ctx: ConsoleContext }) {
  const [currency, setCurrency] = useState('');
  const [threshold, setThreshold] = useState('');
  const [band, setBand] = useState('20');
  const [minTransactions, setMinTransactions] = useState('3');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [report, setReport] = useState<LargeCashReport | undefined>(undefined);
  const [status, setStatus] = useState('');

  const load = async () => {
    setStatus('Running the report…');
    const code = currency.trim().toUpperCase();
    try {
      const body = await must(
        ctx.api.GET('/v1/reports/large-cash', {
          params: {
            query: {
              band: Number(band),
              minTransactions: Number(minTransactions),
              ...(code === '' ? {} : { currency: code }),
              ...(code === '' || threshold.trim() === '' ? {} : { threshold: threshold.trim() }),
              ...(isoOfLocal(from) === undefined ? {} : { from: isoOfLocal(from) }),
              ...(isoOfLocal(to) === undefined ? {} : { to: isoOfLocal(to) }),
            },
          },
        }),
      );
      setReport(body as unknown as LargeCashReport);
      setStatus('');
    } catch (error) {
      setStatus(`Could not run the report: ${(error as Error).message}`);
    }
  };
  useEffect(() => void load(), [ctx.api]);

  const patternColumns: Column<Pattern>[] = [
    { header: 'Customer', cell: (p) => p.customerId ?? '(none named)' },
    { header: 'Accounts', cell: (p) => p.customerAccountIds.join(', ') },
    { header: 'Kind', cell: (p) => p.kind },
    { header: 'In 7 days', cell: (p) => p.transactionsIn7Days, numeric: true },
    { header: 'From', cell: (p) => dateTimeOf(p.windowStart) },
    { header: 'Total', cell: (p) => formatMoney(p.windowTotal), numeric: true },
  ];
  const largeColumns: Column<Large>[] = [
    {
      header: 'Transaction',
      cell: (t) => <a href={`#/audit-trail/${encodeURIComponent(t.transactionId)}`}>{t.transactionId}</a>,
    },
    { header: 'Customer', cell: (t) => t.customerId ?? t.customerAccountId },
    { header: 'Kind', cell: (t) => t.kind },
    { header: 'Amount', cell: (t) => formatMoney(t.amount), numeric: true },
    { header: 'Time', cell: (t) => dateTimeOf(t.eventTime) },
    { header: 'Decision', cell: (t) => t.decision },
  ];

  return (
    <section class="panel compliance" aria-labelledby="cash-title">
      <div class="panel-head">
        <h2 id="cash-title">Large cash and structuring</h2>
      </div>
      <form
        id="cash-form"
        class="filters compliance-filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <label>
          Currency{' '}
          <input
            id="cash-currency"
            type="text"
            size={4}
            maxLength={3}
            pattern="[A-Za-z]{3}"
            placeholder="all"
            value={currency}
            onInput={(e) => setCurrency(e.currentTarget.value)}
          />
        </label>
        <label>
          Threshold (major units){' '}
          <input
            id="cash-threshold"
            type="text"
            inputMode="decimal"
            pattern="\d{1,15}(\.\d{1,4})?"
            placeholder="configured"
            disabled={currency.trim() === ''}
            value={threshold}
            onInput={(e) => setThreshold(e.currentTarget.value)}
          />
        </label>
        <label>
          Band %{' '}
          <input
            id="cash-band"
            type="number"
            min={1}
            max={50}
            required
            value={band}
            onInput={(e) => setBand(e.currentTarget.value)}
          />
        </label>
        <label>
          Fewest in 7 days{' '}
          <input
            id="cash-min"
            type="number"
            min={1}
            max={1000}
            required
            value={minTransactions}
            onInput={(e) => setMinTransactions(e.currentTarget.value)}
          />
        </label>
        <label>
          From{' '}
          <input id="cash-from" type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          To <input id="cash-to" type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
        <button type="submit">Run</button>
        <button
          type="button"
          id="cash-csv"
          class="ghost"
          disabled={report === undefined}
          onClick={() =>
            report !== undefined &&
            downloadText('large-cash.csv', csvText(LARGE_CASH_CSV_HEADER, largeCashRows(report)))
          }
        >
          Export as CSV
        </button>
      </form>
      <p class="meta" role="status" id="cash-status">
        {status}
      </p>
      {report !== undefined && (
        <div id="cash-report">
          <p class="muted">
            {dateTimeOf(report.from)} – {dateTimeOf(report.to)}; “just under” is within {report.bandPercent} % of the
            threshold, a pattern is {report.minTransactions} or more within 7 days.
            {report.currenciesWithoutThreshold.length > 0 &&
              ` Not analysed (no threshold): ${report.currenciesWithoutThreshold.join(', ')}.`}
          </p>
          {report.currencies.map((c) => (
            <section key={c.currency} class="card" aria-labelledby={`cash-${c.currency}`}>
              <h3 id={`cash-${c.currency}`}>
                {c.currency}: threshold {formatMoney(c.threshold)}
              </h3>
              <h4>Structuring patterns</h4>
              <DataTable
                id={`cash-structuring-${c.currency}`}
                caption={`Structuring patterns in ${c.currency}`}
                columns={patternColumns}
                rows={c.structuring}
                rowKey={(p) => `${p.customerId ?? p.customerAccountIds.join(',')}/${p.kind}`}
                empty="No structuring pattern."
              />
              <h4>At or above the threshold</h4>
              <DataTable
                id={`cash-large-${c.currency}`}
                caption={`Cash transactions at or above the ${c.currency} threshold`}
                columns={largeColumns}
                rows={c.largeTransactions}
                rowKey={(t) => t.transactionId}
                empty="None."
              />
            </section>
          ))}
        </div>
      )}
    </section>
  );
}
