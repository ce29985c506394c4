import { useEffect, useState } from 'preact/hooks';
import type { TrialBalance, TrialBalanceLine } from '../../../../../schemas/api.js';
import { must } from '../../api/client.js';
import { type Column, DataTable } from '../../components/table.js';
import type { ConsoleContext } from '../../context.js';
import { formatMoney } from '../../money.js';
import { csvText, downloadText } from './csv.js';

type Finding = TrialBalance['findings'][number];
type CurrencyTotal = TrialBalance['currencies'][number];

/** The CSV export's columns: the trial balance's lines (the report API answers JSON only, so it is built here). */
export const TRIAL_BALANCE_CSV_HEADER = [
  'type',
  'normal_side',
  'currency',
  'accounts',
  'entries',
  'debits',
  'credits',
  'net',
  'normal_balance',
] as const;

/** The trial balance (`GET /v1/reports/trial-balance`): per account type and currency, totals, and what does not reconcile. */
export function TrialBalanceView({ ctx }: { ctx: ConsoleContext }) {
  const [report, setReport] = useState<TrialBalance | undefined>(undefined);
  const [status, setStatus] = useState('Loading the trial balance…');

  const load = () =>
    must(ctx.api.GET('/v1/reports/trial-balance', { params: { query: {} } })).then(
      (body) => {
        setReport(body as unknown as TrialBalance);
        setStatus('');
      },
      (error: Error) => setStatus(`Could not load the trial balance: ${error.message}`),
    );
  useEffect(() => void load(), [ctx.api]);

  const lineColumns: Column<TrialBalanceLine>[] = [
    { header: 'Type', cell: (l) => `${l.type} (${l.normalSide})` },
    { header: 'Currency', cell: (l) => l.currency },
    { header: 'Accounts', cell: (l) => l.accounts, numeric: true },
    { header: 'Entries', cell: (l) => l.entries, numeric: true },
    { header: 'Debits', cell: (l) => formatMoney(l.debits), numeric: true },
    { header: 'Credits', cell: (l) => formatMoney(l.credits), numeric: true },
    { header: 'Normal balance', cell: (l) => formatMoney(l.normalBalance), numeric: true },
  ];
  const totalColumns: Column<CurrencyTotal>[] = [
    { header: 'Currency', cell: (c) => c.currency },
    { header: 'Entries', cell: (c) => c.entries, numeric: true },
    { header: 'Debits', cell: (c) => formatMoney(c.debits), numeric: true },
    { header: 'Credits', cell: (c) => formatMoney(c.credits), numeric: true },
    { header: 'Credits − debits', cell: (c) => formatMoney(c.total), numeric: true },
  ];
  const findingColumns: Column<Finding>[] = [
    { header: 'Severity', cell: (f) => <span class={`finding-${f.severity}`}>{f.severity}</span> },
    { header: 'Code', cell: (f) => <code>{f.code}</code> },
    { header: 'Finding', cell: (f) => f.message },
  ];

  return (
    <section class="panel compliance" aria-labelledby="trial-balance-title">
      <div class="panel-head">
        <h2 id="trial-balance-title">Trial balance</h2>
        <div class="compliance-actions">
          <button type="button" class="ghost" onClick={() => void load()}>
            Reload
          </button>
          <button
            type="button"
            id="trial-balance-csv"
            class="ghost"
            disabled={report === undefined}
            onClick={() =>
              report !== undefined &&
              downloadText(
                'trial-balance.csv',
                csvText(
                  TRIAL_BALANCE_CSV_HEADER,
                  report.lines.map((l) => [
                    l.type,
                    l.normalSide,
                    l.currency,
                    l.accounts,
                    l.entries,
                    l.debits.amount,
                    l.credits.amount,
                    l.net.amount,
                    l.normalBalance.amount,
                  ]),
                ),
              )
            }
          >
            Export lines as CSV
          </button>
        </div>
      </div>
      <p class="meta" role="status" id="trial-balance-status">
        {status}
      </p>
      {report !== undefined && (
        <>
          <p id="trial-balance-verdict" class={report.balanced ? 'finding-ok' : 'finding-error'}>
            {report.balanced ? 'Balanced: every currency sums to zero.' : 'Not balanced.'}{' '}
            {report.reconciled ? 'Reconciled: no findings.' : `${report.findings.length} findings below.`}
          </p>
          <DataTable
            id="trial-balance-totals"
            caption="Totals per currency"
            columns={totalColumns}
            rows={report.currencies}
            rowKey={(c) => c.currency}
            empty="The ledger is empty."
          />
          <h3>By account type</h3>
          <DataTable
            id="trial-balance-lines"
            caption="Debits and credits per account type and currency"
            columns={lineColumns}
            rows={report.lines}
            rowKey={(l) => `${l.type}/${l.currency}`}
            empty="No lines."
          />
          {report.findings.length > 0 && (
            <>
              <h3>Findings</h3>
              <DataTable
                id="trial-balance-findings"
                caption="What does not reconcile"
                columns={findingColumns}
                rows={report.findings}
                rowKey={(f) => `${f.code}/${f.message}`}
                empty="None."
              />
            </>
          )}
        </>
      )}
    </section>
  );
}
