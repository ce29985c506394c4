import { useCallback, useEffect, useState } from 'preact/hooks';
import { must } from '../api/client.js';
import type { SchemaAuditTrail, paths } from '../api/openapi.js';
import { type Column, DataTable } from '../components/table.js';
import type { ConsoleContext } from '../context.js';
import { dateTimeOf, durationOf, personOf, scoreOf } from '../format.js';
import { formatMoney } from '../money.js';
import { type Features, baselineRows, featureAmountsNote, featureText } from '../baseline.js';

type CaseView = paths['/v1/cases/{id}']['get']['responses'][200]['content']['application/json'];
type CaseAction = paths['/v1/cases/{id}/actions']['post']['requestBody']['content']['application/json'];
type Timeline = paths['/v1/cases/{id}/timeline']['get']['responses'][200]['content']['application/json'];
type TimelineItem = Timeline['items'][number];

/** The audit trail of one transaction: decision, reasons, baseline, ledger legs, verdicts. */
function Trail({ trail }: { trail: SchemaAuditTrail }) {
  const features = (trail.features ?? {}) as Features;
  const reasons = trail.decision.reasons ?? [];
  return (
    <section class="card" aria-labelledby="trail-title" id="trail">
      <h3 id="trail-title" tabIndex={-1}>
        Transaction {trail.transactionId} · {trail.decision.outcome} · score {scoreOf(trail.decision.score)}
      </h3>
      <p class="meta">
        {formatMoney(trail.transaction.amount)} · {String(trail.transaction.channel)} · payer{' '}
        {trail.transaction.payerAccountId} → {trail.transaction.payeeAccountId} · model {trail.decision.modelVersion}
      </p>
      <h4>Reasons</h4>
      <DataTable
        caption="Why it was flagged"
        columns={[
          { header: 'Code', cell: (r) => <code>{r.code}</code> },
          { header: 'Source', cell: (r) => r.source ?? '' },
          { header: 'Weight', cell: (r) => (r.weight === undefined ? '' : r.weight.toFixed(3)), numeric: true },
          { header: 'Why', cell: (r) => r.description },
        ]}
        rows={reasons}
        rowKey={(r) => r.code}
        empty="No reasons recorded."
      />
      <h4>Beside the customer's own baseline</h4>
      <DataTable
        id="trail-baseline"
        caption="Feature values of this transaction beside the customer's history"
        columns={[
          { header: 'Feature', cell: (b) => b.label },
          { header: 'This transaction', cell: (b) => b.value, numeric: true },
          { header: 'Customer baseline', cell: (b) => b.baseline },
        ]}
        rows={baselineRows(features, trail)}
        rowKey={(b) => b.feature}
        rowProps={(b) => ({ 'data-feature': b.feature })}
        empty=""
      />
      <h4>Ledger</h4>
      <DataTable
        id="ledger-entries"
        caption="Ledger legs of this transaction"
        columns={[
          { header: 'Entry', cell: (e) => e.entryId },
          { header: 'Account', cell: (e) => e.accountId },
          { header: 'Amount', cell: (e) => formatMoney(e.amount), numeric: true },
          { header: 'Posted', cell: (e) => dateTimeOf(String(e.postedAt)) },
          { header: 'Reverses', cell: (e) => e.reversesEntryId ?? '' },
        ]}
        rows={trail.ledgerEntries}
        rowKey={(e) => e.entryId}
        empty="Nothing booked."
      />
      {trail.hold !== null && (
        <p class="meta" id="trail-hold">
          Hold ({trail.hold.kind}): {trail.hold.status}
          {trail.hold.resolution === null
            ? ` · expires ${dateTimeOf(trail.hold.expiresAt)}`
            : ` · ${trail.hold.resolution.cause} by ${trail.hold.resolution.resolvedBy}`}
        </p>
      )}
      <details>
        <summary>
          All {Object.keys(features).length} feature values ({featureAmountsNote(trail)})
        </summary>
        <dl class="features">
          {Object.entries(features).map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{featureText(value)}</dd>
            </div>
          ))}
        </dl>
      </details>
    </section>
  );
}

const LEDGER_TEXT: Record<TimelineItem['ledger'], string> = {
  posted: 'posted',
  held: 'held',
  reversed: 'reversed',
  not_posted: 'not posted',
};

/**
 * The case's cards' and customers' recent transactions, newest first (the server's order: event time, then id):
 * the case's own marked "this case", alerts by their decision badge, holds and reversals by the ledger column. A
 * transaction's id opens its audit trail below; "Older" reads the next page.
 */
function TimelineCard(props: {
  readonly items: readonly TimelineItem[];
  readonly more: boolean;
  readonly failure: string;
  readonly shown: string | undefined;
  readonly onChoose: (transactionId: string) => void;
  readonly onMore: () => void;
}) {
  const columns: Column<TimelineItem>[] = [
    { header: 'When', cell: (t) => dateTimeOf(t.eventTime) },
    {
      header: 'Transaction',
      cell: (t) => (
        <>
          <button
            type="button"
            class="link"
            aria-pressed={t.transactionId === props.shown}
            onClick={() => props.onChoose(t.transactionId)}
          >
            {t.transactionId}
          </button>
          {t.inCase && <span class="badge in-case">this case</span>}
          <span class="meta matched"> by {t.matchedBy.join(' + ')}</span>
        </>
      ),
    },
    { header: 'Channel', cell: (t) => `${t.channel} · ${t.kind}` },
    {
      header: 'Counterparty',
      cell: (t) => (
        <>
          {t.payerAccountId} → {t.payeeAccountId}
          {(t.merchantId !== null || t.description !== null) && (
            <span class="meta"> {[t.merchantId, t.description].filter((x) => x !== null).join(' · ')}</span>
          )}
        </>
      ),
    },
    { header: 'Amount', cell: (t) => formatMoney(t.amount), numeric: true },
    {
      header: 'Decision',
      cell: (t) => (
        <>
          <span class={`badge ${t.decision.toLowerCase()}`}>{t.decision}</span> {scoreOf(t.score)}
        </>
      ),
    },
    { header: 'Top reason', cell: (t) => (t.topReasonCode === null ? '' : <code>{t.topReasonCode}</code>) },
    { header: 'Ledger', cell: (t) => <span class={`ledger-${t.ledger}`}>{LEDGER_TEXT[t.ledger]}</span> },
  ];
  return (
    <section class="card" aria-labelledby="timeline-title">
      <h3 id="timeline-title">Card and customer timeline</h3>
      {props.failure !== '' ? (
        <p class="error" role="alert">
          {props.failure}
        </p>
      ) : (
        <DataTable
          id="case-timeline"
          caption="Recent transactions of this case's cards and customers, newest first; choose one to see its audit trail"
          columns={columns}
          rows={props.items}
          rowKey={(t) => t.transactionId}
          rowProps={(t) => ({
            class: t.inCase ? 'in-case' : undefined,
            'data-transaction-id': t.transactionId,
            'data-in-case': String(t.inCase),
            'data-ledger': t.ledger,
          })}
          empty="No transactions recorded for this case's cards and customers."
        />
      )}
      {props.more && (
        <div class="actions">
          <button type="button" class="ghost" id="timeline-more" onClick={props.onMore}>
            Older transactions
          </button>
        </div>
      )}
    </section>
  );
}

const HISTORY_ACTION: Record<string, string> = {
  ALERT: 'alert joined',
  ASSIGN: 'assigned',
  NOTE: 'note',
  INVESTIGATE: 'investigating',
  RESOLVE: 'resolved',
  APPROVE_RELEASE: 'approved the release',
};

/**
 * One case: its summary and SLA, the actions an analyst takes (assign, note, investigate, resolve, approve a
 * four-eyes release), its alerts and holds, its history, the timeline of its cards' and customers' transactions, and
 * the audit trail of the transaction chosen (an alerted one, or any on the timeline).
 * A step on this case pushed live reloads it.
 */
export function CaseDetailView({ ctx, caseId }: { ctx: ConsoleContext; caseId: string }) {
  const [view, setView] = useState<CaseView | undefined>(undefined);
  const [trail, setTrail] = useState<SchemaAuditTrail | undefined>(undefined);
  const [transactionId, setTransactionId] = useState<string | undefined>(undefined);
  const [timeline, setTimeline] = useState<{ items: TimelineItem[]; next: string | null }>({ items: [], next: null });
  const [timelineFailure, setTimelineFailure] = useState('');
  // Set when the analyst chose a transaction: its trail takes focus once loaded (not on the case's first load).
  const [focusTrail, setFocusTrail] = useState(false);
  const [note, setNote] = useState('');
  const [assignee, setAssignee] = useState('');
  const [message, setMessage] = useState('');
  const [refusal, setRefusal] = useState('');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setView(await must(ctx.api.GET('/v1/cases/{id}', { params: { path: { id: caseId } } })));
    } catch (error) {
      setRefusal(`Could not load ${caseId}: ${(error as Error).message}`);
    }
  }, [ctx.api, caseId]);
  useEffect(() => void load(), [load]);
  const step = ctx.lastCaseStep;
  useEffect(() => {
    if (step?.caseId === caseId) void load();
  }, [step, caseId, load]);

  // Opening a case moves focus to its heading, so a keyboard or screen-reader user starts at the case, not the page top.
  const loaded = view !== undefined;
  useEffect(() => {
    if (loaded) document.getElementById('case-title')?.focus();
  }, [loaded]);

  const shown = transactionId ?? view?.alerts[0]?.transactionId;
  const holdsKey = JSON.stringify(view?.holds ?? []);
  useEffect(() => {
    if (shown === undefined) return;
    ctx.api
      .GET('/v1/transactions/{id}', { params: { path: { id: shown } } })
      .then(({ data }) => setTrail(data))
      .catch(() => setTrail(undefined));
    // The holds change when a verdict reaches the ledger: the trail is read again then.
  }, [ctx.api, shown, holdsKey]);
  useEffect(() => {
    if (focusTrail && trail !== undefined && trail.transactionId === shown) {
      document.getElementById('trail-title')?.focus();
      setFocusTrail(false);
    }
  }, [focusTrail, trail, shown]);

  const readTimeline = useCallback(
    async (cursor: string | null) => {
      try {
        const page = await must(
          ctx.api.GET('/v1/cases/{id}/timeline', {
            params: { path: { id: caseId }, query: cursor === null ? {} : { cursor } },
          }),
        );
        setTimelineFailure('');
        setTimeline((before) => ({
          items: cursor === null ? [...page.items] : [...before.items, ...page.items],
          next: page.nextCursor,
        }));
      } catch (error) {
        setTimelineFailure(`Could not load the timeline: ${(error as Error).message}`);
      }
    },
    [ctx.api, caseId],
  );
  // Read again from the newest when the ledger moves (a hold voided, a payment reversed).
  useEffect(() => void readTimeline(null), [readTimeline, holdsKey]);
  const choose = (id: string) => {
    setTransactionId(id);
    setFocusTrail(true);
  };

  const act = async (action: CaseAction, done: string) => {
    setBusy(true);
    setRefusal('');
    setMessage('');
    try {
      const result = await must(
        ctx.api.POST('/v1/cases/{id}/actions', { params: { path: { id: caseId } }, body: action }),
      );
      setMessage(
        result.case.pendingRelease !== null && action.action === 'resolve'
          ? 'Release requested: it waits for a second analyst’s approval.'
          : done,
      );
      setNote('');
      await load();
    } catch (error) {
      setRefusal((error as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const withNote = note.trim() === '' ? {} : { note: note.trim() };

  if (view === undefined)
    return (
      <section class="panel">
        <p class="muted">{refusal || `Loading ${caseId}…`}</p>
      </section>
    );
  const resolved = view.state === 'resolved';
  const alertColumns: Column<CaseView['alerts'][number]>[] = [
    {
      header: 'Transaction',
      cell: (a) => (
        <button
          type="button"
          class="link"
          aria-pressed={a.transactionId === shown}
          onClick={() => setTransactionId(a.transactionId)}
        >
          {a.transactionId}
        </button>
      ),
    },
    { header: 'Decision', cell: (a) => a.decision },
    { header: 'Score', cell: (a) => scoreOf(a.score), numeric: true },
    { header: 'Amount', cell: (a) => formatMoney(a.amount), numeric: true },
    { header: 'Raised', cell: (a) => dateTimeOf(a.raisedAt) },
  ];
  return (
    <section class="panel case-view" aria-labelledby="case-title" data-case-id={view.caseId}>
      <div class="panel-head">
        <h2 id="case-title" tabIndex={-1}>
          Case {view.caseId} · <span id="case-state">{view.state}</span>
          {view.resolution !== null && <span id="case-resolution"> · {view.resolution}</span>}
        </h2>
        <a href="#/queue" class="ghost-link">
          Back to the queue
        </a>
      </div>
      <p class="meta">
        {view.groupKey} · assignee <span id="case-assignee">{personOf(view.assignee)}</span> · open{' '}
        {durationOf(view.ageMs)} ·{' '}
        {view.slaBreached ? <span class="sla-breached">SLA breached</span> : `SLA due ${dateTimeOf(view.slaDueAt)}`}
      </p>
      {view.pendingRelease !== null && (
        <p class="notice" id="pending-release">
          Release requested by {personOf(view.pendingRelease.requestedBy, view.pendingRelease.requestedByName)} at{' '}
          {dateTimeOf(view.pendingRelease.requestedAt)}: it needs a second analyst’s approval.
        </p>
      )}
      <div class="case-grid">
        <div>
          <section class="card" aria-labelledby="actions-title">
            <h3 id="actions-title">Actions</h3>
            <div class="actions">
              <button
                type="button"
                disabled={busy || resolved}
                onClick={() => void act({ action: 'assign' }, 'Assigned to you.')}
              >
                Assign to me
              </button>
              <button
                type="button"
                class="ghost"
                disabled={busy || resolved}
                onClick={() => void act({ action: 'investigate' }, 'Marked as under investigation.')}
              >
                Investigate
              </button>
            </div>
            <div class="actions">
              <label for="assign-to">Assign to analyst</label>
              <input
                id="assign-to"
                type="text"
                placeholder="principal, e.g. user:ann"
                value={assignee}
                onInput={(e) => setAssignee(e.currentTarget.value)}
              />
              <button
                type="button"
                class="ghost"
                disabled={busy || resolved || assignee.trim() === ''}
                onClick={() =>
                  void act({ action: 'assign', assignee: assignee.trim() }, `Assigned to ${assignee.trim()}.`)
                }
              >
                Assign
              </button>
            </div>
            <label for="case-note">Note</label>
            <textarea
              id="case-note"
              rows={3}
              maxLength={2000}
              value={note}
              onInput={(e) => setNote(e.currentTarget.value)}
            />
            <div class="actions">
              <button
                type="button"
                class="ghost"
                disabled={busy || note.trim() === ''}
                onClick={() => void act({ action: 'note', note: note.trim() }, 'Note added.')}
              >
                Add note
              </button>
            </div>
            <fieldset disabled={busy || resolved}>
              <legend>Resolve as (the note above goes with it)</legend>
              <button
                type="button"
                class="fraud"
                onClick={() => void act({ action: 'resolve', resolution: 'fraud', ...withNote }, 'Resolved as fraud.')}
              >
                Fraud
              </button>
              <button
                type="button"
                class="genuine"
                onClick={() =>
                  void act({ action: 'resolve', resolution: 'genuine', ...withNote }, 'Resolved as genuine.')
                }
              >
                Genuine (release)
              </button>
              <button
                type="button"
                class="ghost"
                onClick={() => void act({ action: 'resolve', resolution: 'escalated', ...withNote }, 'Escalated.')}
              >
                Escalated
              </button>
            </fieldset>
            {view.pendingRelease !== null && (
              <div class="actions">
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => void act({ action: 'approve-release', ...withNote }, 'Release approved.')}
                >
                  Approve release
                </button>
              </div>
            )}
            <p class="meta" role="status" id="case-message">
              {message}
            </p>
            <p class="error" role="alert" id="case-error">
              {refusal}
            </p>
          </section>
          <section class="card" aria-labelledby="history-title">
            <h3 id="history-title">History</h3>
            <ol id="case-history" class="history">
              {view.history.map((h) => (
                <li key={h.eventId} data-action={h.action}>
                  <span class="meta">{dateTimeOf(h.at)}</span> {personOf(h.by, h.byName)}{' '}
                  {HISTORY_ACTION[h.action] ?? h.action}
                  {h.assignee !== null && h.action === 'ASSIGN' && ` to ${personOf(h.assignee)}`}
                  {h.resolution !== null && ` as ${h.resolution}`}
                  {h.awaitsApproval && ' (release awaits approval)'}
                  {h.withdrewRelease && ' (withdrew the pending release)'}
                  {h.alertId !== null && h.action === 'ALERT' && <span class="meta"> {h.alertId}</span>}
                  {h.note !== null && <q class="note">{h.note}</q>}
                </li>
              ))}
            </ol>
          </section>
        </div>
        <div>
          <section class="card" aria-labelledby="case-alerts-title">
            <h3 id="case-alerts-title">Alerts</h3>
            <DataTable
              id="case-alerts"
              caption="Alerts in this case; choose one to see its audit trail"
              columns={alertColumns}
              rows={view.alerts}
              rowKey={(a) => a.alertId}
              empty="No alerts."
            />
            <h3>Holds</h3>
            <DataTable
              id="case-holds"
              caption="Holds of the alerted transactions"
              columns={[
                { header: 'Transaction', cell: (h) => h.transactionId },
                { header: 'Hold', cell: (h) => (h.hold === null ? 'none' : `${h.hold.kind} · ${h.hold.status}`) },
                { header: 'Resolution', cell: (h) => h.hold?.resolution?.cause ?? '' },
                { header: 'Reversed', cell: (h) => (h.reversed ? 'reversed' : '') },
              ]}
              rows={view.holds}
              rowKey={(h) => h.transactionId}
              rowProps={(h) => ({
                'data-transaction-id': h.transactionId,
                'data-hold': h.hold?.status ?? 'none',
                'data-reversed': String(h.reversed),
              })}
              empty="No holds."
            />
          </section>
          <TimelineCard
            items={timeline.items}
            more={timeline.next !== null}
            failure={timelineFailure}
            shown={shown}
            onChoose={choose}
            onMore={() => void readTimeline(timeline.next)}
          />
          {trail !== undefined && <Trail trail={trail} />}
        </div>
      </div>
    </section>
  );
}
