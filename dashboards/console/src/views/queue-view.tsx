import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { must } from '../api/client.js';
import type { SchemaCaseSummary } from '../api/openapi.js';
import { type Column, DataTable } from '../components/table.js';
import type { ConsoleContext } from '../context.js';
import { QUEUE_PAGE } from './queue-page.js';
import { dateTimeOf, durationOf, personOf, priorityText } from '../format.js';

/** Case steps arrive in bursts (every alert is one): the queue is reloaded at most this often. */
const RELOAD_MS = 2000;

type StateFilter = 'unresolved' | 'open' | 'assigned' | 'investigating' | 'resolved';

/** A key press the queue answers: not while the person types in a field or holds a modifier. */
const isTriageKey = (event: KeyboardEvent): boolean => {
  const target = event.target as HTMLElement | null;
  const typing = target !== null && ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
  return !typing && !event.altKey && !event.ctrlKey && !event.metaKey;
};

/**
 * The case queue: unresolved cases by priority (or age), filtered by state and assignee, SLA breaches marked, and
 * keyboard triage — j/k move, Enter opens, a assigns the selected case to the signed-in analyst.
 */
export function QueueView({ ctx }: { ctx: ConsoleContext }) {
  const [state, setState] = useState<StateFilter>('unresolved');
  /** Whose cases: anyone's, the signed-in analyst's, or another analyst's (by principal id). */
  const [assignee, setAssignee] = useState<'anyone' | 'me' | 'other'>('anyone');
  const [otherAssignee, setOtherAssignee] = useState('');
  const [sort, setSort] = useState<'priority' | 'age'>('priority');
  const [cases, setCases] = useState<readonly SchemaCaseSummary[] | undefined>(undefined);
  const [selected, setSelected] = useState(0);
  const [status, setStatus] = useState('');

  const assigneeId =
    assignee === 'me' ? ctx.me : assignee === 'other' && otherAssignee.trim() !== '' ? otherAssignee.trim() : undefined;
  const load = useCallback(async () => {
    try {
      const page = await must(
        ctx.api.GET('/v1/cases', {
          params: {
            query: {
              state,
              sort,
              limit: QUEUE_PAGE,
              ...(assigneeId === undefined ? {} : { assignee: assigneeId }),
            },
          },
        }),
      );
      setCases(page.cases);
      setSelected((i) => Math.min(i, Math.max(0, page.cases.length - 1)));
    } catch (error) {
      setStatus(`Could not load cases: ${(error as Error).message}`);
    }
  }, [ctx.api, state, sort, assigneeId]);

  useEffect(() => void load(), [load]);
  // A case step pushed live reloads the queue, once per burst.
  const step = ctx.lastCaseStep?.seq;
  useEffect(() => {
    if (step === undefined) return;
    const timer = setTimeout(() => void load(), RELOAD_MS);
    return () => clearTimeout(timer);
  }, [step, load]);

  const assignToMe = useCallback(
    async (summary: SchemaCaseSummary) => {
      setStatus(`Assigning ${summary.caseId}…`);
      try {
        await must(
          ctx.api.POST('/v1/cases/{id}/actions', {
            params: { path: { id: summary.caseId } },
            body: { action: 'assign' },
          }),
        );
        setStatus(`${summary.caseId} is assigned to you.`);
        await load();
      } catch (error) {
        setStatus(`Could not assign ${summary.caseId}: ${(error as Error).message}`);
      }
    },
    [ctx.api, load],
  );

  // The key handler is registered once and reads the latest state here: presses faster than a re-render (j j j)
  // must each move the selection, not all start from the same stale one.
  const latest = useRef({ cases, selected, assignToMe, navigate: ctx.navigate });
  latest.current = { cases, selected, assignToMe, navigate: ctx.navigate };
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const now = latest.current;
      const list = now.cases;
      if (!isTriageKey(event) || list === undefined || list.length === 0) return;
      const current = list[Math.min(now.selected, list.length - 1)]!;
      if (event.key === 'j' || event.key === 'k') {
        const next = Math.max(0, Math.min(list.length - 1, now.selected + (event.key === 'j' ? 1 : -1)));
        now.selected = next;
        setSelected(next);
        document.querySelectorAll<HTMLElement>('#cases tbody tr a')[next]?.focus();
      } else if (event.key === 'Enter') {
        // A focused link opens itself; this is for the selection moved with j/k while focus is elsewhere.
        if ((event.target as HTMLElement | null)?.tagName === 'A') return;
        now.navigate(`cases/${current.caseId}`);
      } else if (event.key === 'a') void now.assignToMe(current);
      else return;
      event.preventDefault();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const columns: Column<SchemaCaseSummary>[] = [
    {
      header: 'Case',
      cell: (c) => (
        <a href={`#/cases/${encodeURIComponent(c.caseId)}`} onFocus={() => setSelected(cases?.indexOf(c) ?? 0)}>
          {c.caseId}
        </a>
      ),
    },
    { header: 'State', cell: (c) => (c.pendingRelease === null ? c.state : `${c.state} · release awaits approval`) },
    { header: 'Assignee', cell: (c) => personOf(c.assignee) },
    { header: 'Risk × amount', cell: (c) => priorityText(c.priority), numeric: true },
    { header: 'Alerts', cell: (c) => c.alertCount, numeric: true },
    { header: 'Age', cell: (c) => durationOf(c.ageMs), numeric: true },
    {
      header: 'SLA',
      cell: (c) =>
        c.slaBreached ? <span class="sla-breached">breached</span> : <span>due {dateTimeOf(c.slaDueAt)}</span>,
    },
    { header: 'Group', cell: (c) => <span class="meta">{c.groupKey}</span> },
  ];

  return (
    <section class="panel" aria-labelledby="queue-title">
      <div class="panel-head">
        <h2 id="queue-title">Case queue</h2>
        <div class="filters">
          <label>
            State{' '}
            <select id="queue-state" value={state} onChange={(e) => setState(e.currentTarget.value as StateFilter)}>
              {(['unresolved', 'open', 'assigned', 'investigating', 'resolved'] as const).map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Assignee{' '}
            <select
              id="queue-assignee"
              value={assignee}
              onChange={(e) => setAssignee(e.currentTarget.value as 'anyone' | 'me' | 'other')}
            >
              <option value="anyone">anyone</option>
              <option value="me">me</option>
              <option value="other">another analyst…</option>
            </select>
          </label>
          {assignee === 'other' && (
            <label>
              Analyst{' '}
              <input
                id="queue-assignee-other"
                type="text"
                placeholder="e.g. user:ann"
                value={otherAssignee}
                onChange={(e) => setOtherAssignee(e.currentTarget.value)}
              />
            </label>
          )}
          <label>
            Sort by{' '}
            <select id="queue-sort" value={sort} onChange={(e) => setSort(e.currentTarget.value as 'priority' | 'age')}>
              <option value="priority">priority</option>
              <option value="age">age</option>
            </select>
          </label>
        </div>
      </div>
      <p class="help" id="queue-help">
        Keys: <kbd>j</kbd> / <kbd>k</kbd> move · <kbd>Enter</kbd> open · <kbd>a</kbd> assign to me
      </p>
      <p class="meta" role="status" id="queue-status">
        {status}
      </p>
      <div>
        {cases === undefined ? (
          <p class="muted">Loading cases…</p>
        ) : (
          <DataTable
            id="cases"
            caption="Cases, in the order chosen above"
            columns={columns}
            rows={cases}
            rowKey={(c) => c.caseId}
            rowProps={(c, i) => ({
              'data-case-id': c.caseId,
              'aria-current': i === selected ? 'true' : undefined,
              class: `${i === selected ? 'selected' : ''}${c.slaBreached ? ' breached' : ''}`,
            })}
            onRowClick={(_c, i) => setSelected(i)}
            empty="No cases match."
          />
        )}
      </div>
    </section>
  );
}
