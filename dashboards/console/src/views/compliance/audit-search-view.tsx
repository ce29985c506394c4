import { useState } from 'preact/hooks';
import type { AuditHit, AuditSearchResponse } from '../../../../../schemas/api.js';
import { must } from '../../api/client.js';
import { type Column, DataTable } from '../../components/table.js';
import type { ConsoleContext } from '../../context.js';
import { dateTimeOf, scoreOf } from '../../format.js';
import { formatMoney } from '../../money.js';
import { csvText, downloadText, isoOfLocal } from './csv.js';

const PAGE = 50;
const CHANNELS = ['CARD', 'ACH', 'SEPA', 'WIRE', 'WALLET', 'P2P', 'CASH'] as const;
const DECISIONS = ['APPROVE', 'REVIEW', 'DECLINE'] as const;

interface Filters {
  readonly q: string;
  readonly account: string;
  readonly decision: '' | (typeof DECISIONS)[number];
  readonly channel: '' | (typeof CHANNELS)[number];
  readonly from: string;
  readonly to: string;
}

const NO_FILTERS: Filters = { q: '', account: '', decision: '', channel: '', from: '', to: '' };

/** The CSV export's columns; exported client-side from the pages loaded (the search API answers JSON only). */
export const AUDIT_CSV_HEADER = [
  'transaction_id',
  'event_time',
  'decision',
  'score',
  'channel',
  'kind',
  'amount',
  'currency',
  'payer_account_id',
  'payee_account_id',
  'merchant_id',
  'description',
  'reason_codes',
] as const;

const csvRow = (h: AuditHit): Array<string | number> => [
  h.transactionId,
  h.eventTime,
  h.decision,
  h.score,
  h.channel,
  h.kind,
  h.amount.amount,
  h.amount.currency,
  h.payerAccountId,
  h.payeeAccountId,
  h.merchantId ?? '',
  h.description ?? '',
  h.reasons.map((r) => r.code).join(' '),
];

/**
 * Audit search (`GET /v1/audit/search`, compliance): free text, account, decision, channel and time filters, pages
 * by the API's cursor ("Load more" appends the next page), a row opens the transaction's audit trail, and the rows
 * loaded export as CSV.
 */
export function AuditSearchView({ ctx }: { ctx: ConsoleContext }) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [hits, setHits] = useState<readonly AuditHit[] | undefined>(undefined);
  const [total, setTotal] = useState('');
  const [next, setNext] = useState<string | null>(null);
  const [status, setStatus] = useState('');

  const set = (name: keyof Filters) => (e: { currentTarget: { value: string } }) =>
    setFilters((f) => ({ ...f, [name]: e.currentTarget.value }));

  const search = async (cursor: string | null) => {
    setStatus('Searching…');
    try {
      const page = (await must(
        ctx.api.GET('/v1/audit/search', {
          params: {
            query: {
              limit: PAGE,
              ...(filters.q.trim() === '' ? {} : { q: filters.q.trim() }),
              ...(filters.account.trim() === '' ? {} : { account: filters.account.trim() }),
              ...(filters.decision === '' ? {} : { decision: filters.decision }),
              ...(filters.channel === '' ? {} : { channel: filters.channel }),
              ...(isoOfLocal(filters.from) === undefined ? {} : { from: isoOfLocal(filters.from) }),
              ...(isoOfLocal(filters.to) === undefined ? {} : { to: isoOfLocal(filters.to) }),
              ...(cursor === null ? {} : { cursor }),
            },
          },
        }),
      )) as AuditSearchResponse;
      const shown = cursor === null ? page.hits : [...(hits ?? []), ...page.hits];
      setHits(shown);
      setNext(page.nextCursor);
      setTotal('total' in page ? `${page.total}` : `at least ${page.totalAtLeast}`);
      setStatus(`${shown.length} shown of ${'total' in page ? page.total : `at least ${page.totalAtLeast}`}.`);
    } catch (error) {
      setStatus(`Search failed: ${(error as Error).message}`);
    }
  };

  const columns: Column<AuditHit>[] = [
    {
      header: 'Transaction',
      cell: (h) => <a href={`#/audit-trail/${encodeURIComponent(h.transactionId)}`}>{h.transactionId}</a>,
    },
    { header: 'Event time', cell: (h) => dateTimeOf(h.eventTime) },
    { header: 'Decision', cell: (h) => <span class={`badge ${h.decision.toLowerCase()}`}>{h.decision}</span> },
    { header: 'Score', cell: (h) => scoreOf(h.score), numeric: true },
    { header: 'Channel', cell: (h) => `${h.channel} ${h.kind}` },
    { header: 'Amount', cell: (h) => formatMoney(h.amount), numeric: true },
    { header: 'Payer → payee', cell: (h) => `${h.payerAccountId} → ${h.payeeAccountId}` },
    { header: 'Reasons', cell: (h) => h.reasons.map((r) => r.code).join(', ') },
  ];

  return (
    <section class="panel compliance" aria-labelledby="audit-search-title">
      <div class="panel-head">
        <h2 id="audit-search-title">Audit search</h2>
      </div>
      <form
        id="audit-search-form"
        class="filters compliance-filters"
        onSubmit={(e) => {
          e.preventDefault();
          void search(null);
        }}
      >
        <label>
          Text <input id="audit-q" type="search" value={filters.q} onInput={set('q')} />
        </label>
        <label>
          Account <input id="audit-account" type="text" value={filters.account} onInput={set('account')} />
        </label>
        <label>
          Decision{' '}
          <select id="audit-decision" value={filters.decision} onChange={set('decision')}>
            <option value="">any</option>
            {DECISIONS.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          Channel{' '}
          <select id="audit-channel" value={filters.channel} onChange={set('channel')}>
            <option value="">any</option>
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          From <input id="audit-from" type="datetime-local" value={filters.from} onInput={set('from')} />
        </label>
        <label>
          To <input id="audit-to" type="datetime-local" value={filters.to} onInput={set('to')} />
        </label>
        <button type="submit">Search</button>
      </form>
      <p class="meta" role="status" id="audit-status">
        {status}
      </p>
      {hits !== undefined && (
        <>
          <DataTable
            id="audit-hits"
            caption={`Decisions found (${total})`}
            columns={columns}
            rows={hits}
            rowKey={(h) => h.transactionId}
            rowProps={(h) => ({ 'data-transaction-id': h.transactionId })}
            onRowClick={(h) => ctx.navigate(`audit-trail/${encodeURIComponent(h.transactionId)}`)}
            empty="No decisions match."
          />
          <div class="compliance-actions">
            {next !== null && (
              <button type="button" id="audit-more" onClick={() => void search(next)}>
                Load more
              </button>
            )}
            <button
              type="button"
              id="audit-csv"
              class="ghost"
              disabled={hits.length === 0}
              onClick={() => downloadText('audit-search.csv', csvText(AUDIT_CSV_HEADER, hits.map(csvRow)))}
            >
              Export {hits.length} rows as CSV
            </button>
          </div>
        </>
      )}
    </section>
  );
}
