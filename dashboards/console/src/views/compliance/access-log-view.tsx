import { useState } from 'preact/hooks';
import type { AccessLogEntry, AccessLogPage } from '../../../../../schemas/api.js';
import { must } from '../../api/client.js';
import { type Column, DataTable } from '../../components/table.js';
import type { ConsoleContext } from '../../context.js';
import { dateTimeOf } from '../../format.js';
import { csvText, downloadText, isoOfLocal } from './csv.js';

const PAGE = 100;

interface Filters {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly from: string;
  readonly to: string;
}

/** The CSV export's columns, built here from the rows loaded (the access-log API answers JSON only). */
export const ACCESS_CSV_HEADER = ['at', 'principal', 'principal_name', 'role', 'action', 'resource', 'query'] as const;

/**
 * The access log (`GET /v1/audit/access`, compliance): who read, searched, exported or changed what, newest first,
 * filtered by principal, action, resource and time; "Load more" follows the API's cursor. Reading it is itself logged.
 */
export function AccessLogView({ ctx }: { ctx: ConsoleContext }) {
  const [filters, setFilters] = useState<Filters>({ principal: '', action: '', resource: '', from: '', to: '' });
  const [entries, setEntries] = useState<readonly AccessLogEntry[] | undefined>(undefined);
  const [next, setNext] = useState<string | null>(null);
  const [status, setStatus] = useState('');

  const set = (name: keyof Filters) => (e: { currentTarget: { value: string } }) =>
    setFilters((f) => ({ ...f, [name]: e.currentTarget.value }));

  const load = async (cursor: string | null) => {
    setStatus('Reading the access log…');
    const given = (name: 'principal' | 'action' | 'resource') =>
      filters[name].trim() === '' ? {} : { [name]: filters[name].trim() };
    try {
      const page = (await must(
        ctx.api.GET('/v1/audit/access', {
          params: {
            query: {
              limit: PAGE,
              ...given('principal'),
              ...given('action'),
              ...given('resource'),
              ...(isoOfLocal(filters.from) === undefined ? {} : { from: isoOfLocal(filters.from) }),
              ...(isoOfLocal(filters.to) === undefined ? {} : { to: isoOfLocal(filters.to) }),
              ...(cursor === null ? {} : { cursor }),
            },
          },
        }),
      )) as unknown as AccessLogPage;
      const shown = cursor === null ? page.entries : [...(entries ?? []), ...page.entries];
      setEntries(shown);
      setNext(page.nextCursor);
      setStatus(`${shown.length} entries shown${page.nextCursor === null ? ' (all)' : ''}.`);
    } catch (error) {
      setStatus(`Could not read the access log: ${(error as Error).message}`);
    }
  };

  const columns: Column<AccessLogEntry>[] = [
    { header: 'At', cell: (e) => dateTimeOf(e.at) },
    { header: 'Who', cell: (e) => (e.principalName === null ? e.principal : `${e.principalName} (${e.principal})`) },
    { header: 'Role', cell: (e) => e.role },
    { header: 'Action', cell: (e) => <code>{e.action}</code> },
    { header: 'Resource', cell: (e) => e.resource },
  ];

  return (
    <section class="panel compliance" aria-labelledby="access-title">
      <div class="panel-head">
        <h2 id="access-title">Access log</h2>
      </div>
      <form
        id="access-form"
        class="filters compliance-filters"
        onSubmit={(e) => {
          e.preventDefault();
          void load(null);
        }}
      >
        <label>
          Principal{' '}
          <input
            id="access-principal"
            type="text"
            placeholder="user:analyst"
            value={filters.principal}
            onInput={set('principal')}
          />
        </label>
        <label>
          Action{' '}
          <input
            id="access-action"
            type="text"
            placeholder="case.read"
            value={filters.action}
            onInput={set('action')}
          />
        </label>
        <label>
          Resource{' '}
          <input
            id="access-resource"
            type="text"
            placeholder="transaction/tx-1"
            value={filters.resource}
            onInput={set('resource')}
          />
        </label>
        <label>
          From <input id="access-from" type="datetime-local" value={filters.from} onInput={set('from')} />
        </label>
        <label>
          To <input id="access-to" type="datetime-local" value={filters.to} onInput={set('to')} />
        </label>
        <button type="submit">Show</button>
      </form>
      <p class="meta" role="status" id="access-status">
        {status}
      </p>
      {entries !== undefined && (
        <>
          <DataTable
            id="access-entries"
            caption="Access log entries, newest first"
            columns={columns}
            rows={entries}
            rowKey={(e) => `${e.at}/${e.principal}/${e.action}/${e.resource}/${entries.indexOf(e)}`}
            empty="No entries match."
          />
          <div class="compliance-actions">
            {next !== null && (
              <button type="button" id="access-more" onClick={() => void load(next)}>
                Load more
              </button>
            )}
            <button
              type="button"
              id="access-csv"
              class="ghost"
              disabled={entries.length === 0}
              onClick={() =>
                downloadText(
                  'access-log.csv',
                  csvText(
                    ACCESS_CSV_HEADER,
                    entries.map((e) => [
                      e.at,
                      e.principal,
                      e.principalName,
                      e.role,
                      e.action,
                      e.resource,
                      JSON.stringify(e.query),
                    ]),
                  ),
                )
              }
            >
              Export {entries.length} rows as CSV
            </button>
          </div>
        </>
      )}
    </section>
  );
}
