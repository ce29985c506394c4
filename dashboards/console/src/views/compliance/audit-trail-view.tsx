import { useEffect, useState } from 'preact/hooks';
import type { AuditTrail } from '../../../../../schemas/api.js';
import { must } from '../../api/client.js';
import { type Column, DataTable } from '../../components/table.js';
import type { ConsoleContext } from '../../context.js';
import { dateTimeOf, scoreOf } from '../../format.js';
import { formatMoney } from '../../money.js';

type Entry = AuditTrail['ledgerEntries'][number];

/**
 * One transaction's audit trail for compliance (`GET /v1/transactions/:id`): what came in, the decision and why, the
 * timeline, the ledger legs, the hold and the labels.
 */
export function AuditTrailView({ ctx, transactionId }: { ctx: ConsoleContext; transactionId: string }) {
  const [trail, setTrail] = useState<AuditTrail | undefined>(undefined);
  const [status, setStatus] = useState('Loading the audit trail…');

  useEffect(() => {
    must(ctx.api.GET('/v1/transactions/{id}', { params: { path: { id: transactionId } } })).then(
      (body) => {
        setTrail(body as unknown as AuditTrail);
        setStatus('');
      },
      (error: Error) => setStatus(`Could not load ${transactionId}: ${error.message}`),
    );
  }, [ctx.api, transactionId]);

  const entryColumns: Column<Entry>[] = [
    { header: 'Leg', cell: (e) => e.leg, numeric: true },
    { header: 'Account', cell: (e) => e.accountId },
    { header: 'Type', cell: (e) => e.entryType },
    { header: 'Amount', cell: (e) => formatMoney(e.amount), numeric: true },
    { header: 'Posted', cell: (e) => dateTimeOf(e.postedAt) },
    { header: 'Reverses', cell: (e) => e.reversesEntryId ?? '' },
  ];
  const reasons = Array.isArray(trail?.decision.reasons)
    ? (trail.decision.reasons as ReadonlyArray<{ code: string; description: string }>)
    : [];

  return (
    <section class="panel compliance" aria-labelledby="trail-title">
      <div class="panel-head">
        <h2 id="trail-title">
          Audit trail <span class="meta">{transactionId}</span>
        </h2>
        <a class="ghost-link" href="#/audit">
          Back to the search
        </a>
      </div>
      <p class="meta" role="status" id="trail-status">
        {status}
      </p>
      {trail !== undefined && (
        <div id="trail" class="compliance-grid">
          <div class="card">
            <h3>Transaction</h3>
            <dl class="compliance-facts">
              <dt>Amount</dt>
              <dd id="trail-amount">{formatMoney(trail.transaction.amount)}</dd>
              <dt>Channel</dt>
              <dd>
                {trail.transaction.channel} {trail.transaction.kind} ({trail.transaction.source})
              </dd>
              <dt>Payer → payee</dt>
              <dd>
                {trail.transaction.payerAccountId} → {trail.transaction.payeeAccountId}
              </dd>
              <dt>Customer</dt>
              <dd>{trail.transaction.customerId ?? '—'}</dd>
              <dt>Submitted by</dt>
              <dd>{trail.transaction.submittedBy ?? '—'}</dd>
              <dt>Fingerprint</dt>
              <dd class="meta">{trail.fingerprint ?? '—'}</dd>
            </dl>
          </div>
          <div class="card">
            <h3>Decision</h3>
            <dl class="compliance-facts">
              <dt>Outcome</dt>
              <dd id="trail-decision">{trail.decision.outcome}</dd>
              <dt>Score</dt>
              <dd>
                {scoreOf(trail.decision.score)}
                {trail.decision.combinedRisk === null ? '' : ` (risk ${scoreOf(trail.decision.combinedRisk)})`}
              </dd>
              <dt>Model / rules</dt>
              <dd class="meta">
                {trail.decision.modelVersion} / {trail.decision.rulesVersion.slice(0, 12)}
              </dd>
              <dt>Event → stored</dt>
              <dd>
                {dateTimeOf(trail.timeline.eventTime)} → {dateTimeOf(trail.timeline.storedAt)}
              </dd>
            </dl>
            <ul class="reasons">
              {reasons.map((r) => (
                <li key={r.code}>
                  <code>{r.code}</code> {r.description}
                </li>
              ))}
            </ul>
          </div>
          <div class="card compliance-wide">
            <h3>Ledger</h3>
            <DataTable
              id="trail-entries"
              caption="Ledger legs of this transaction"
              columns={entryColumns}
              rows={trail.ledgerEntries}
              rowKey={(e) => e.entryId}
              empty={trail.hold === null ? 'No ledger legs.' : 'No booked legs; see the hold.'}
            />
            {trail.hold !== null && (
              <p>
                Hold ({trail.hold.kind}): {trail.hold.status}
                {trail.hold.resolution === null
                  ? ''
                  : `, ${trail.hold.resolution.cause} by ${trail.hold.resolution.resolvedBy}`}
              </p>
            )}
            {trail.labels.length > 0 && (
              <ul>
                {trail.labels.map((l) => (
                  <li key={`${l.labelledAt}-${l.labelledBy}`}>
                    {l.label} by {l.labelledBy} at {dateTimeOf(l.labelledAt)}
                    {l.note === null ? '' : `: ${l.note}`}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
