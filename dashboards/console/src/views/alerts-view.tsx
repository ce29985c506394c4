import { useEffect, useState } from 'preact/hooks';
import { type AlertItem } from '../alerts.js';
import { must } from '../api/client.js';
import type { ConsoleContext } from '../context.js';
import { scoreOf, timeOf } from '../format.js';

/** Re-renders on every change of the alert book. */
function useAlerts(ctx: ConsoleContext): readonly AlertItem[] {
  const [, setVersion] = useState(0);
  useEffect(() => ctx.alerts.subscribe(() => setVersion((v) => v + 1)), [ctx.alerts]);
  return ctx.alerts.list;
}

/** The verdict buttons of one alert, or the verdict once given. */
function LabelBox({ ctx, alert }: { ctx: ConsoleContext; alert: AlertItem }) {
  const [note, setNote] = useState('');
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  if (alert.label !== null)
    return (
      <div class="label-box">
        <span class={`labelled ${alert.label.label.toUpperCase()}`}>
          {alert.label.label} · {alert.label.labelledBy}
        </span>
      </div>
    );
  const send = async (label: 'fraud' | 'genuine') => {
    setBusy(true);
    setStatus('Saving…');
    try {
      const result = await must(
        ctx.api.POST('/v1/labels', {
          body: { transactionId: alert.transactionId, label, ...(note === '' ? {} : { note }) },
        }),
      );
      ctx.alerts.labelled(alert.transactionId, label, result.label.labelledBy);
    } catch (error) {
      setStatus((error as Error).message);
      setBusy(false);
    }
  };
  return (
    <div class="label-box">
      <input
        type="text"
        placeholder="Note (optional)"
        aria-label={`Note on ${alert.transactionId} (optional)`}
        maxLength={2000}
        value={note}
        onInput={(e) => setNote(e.currentTarget.value)}
      />
      <button type="button" class="fraud" disabled={busy} onClick={() => void send('fraud')}>
        Fraud
      </button>
      <button type="button" class="genuine" disabled={busy} onClick={() => void send('genuine')}>
        Genuine
      </button>
      <span class="meta" role="status">
        {status}
      </span>
    </div>
  );
}

/**
 * Live alerts, newest first: what scoring flagged as it happens, with a verdict per alert. The history is reloaded
 * from `GET /v1/alerts` on demand and after a gap in the live stream.
 */
export function AlertsView({ ctx, reloadHistory }: { ctx: ConsoleContext; reloadHistory: () => void }) {
  const alerts = useAlerts(ctx);
  const [showReview, setShowReview] = useState(true);
  const [showDecline, setShowDecline] = useState(true);
  return (
    <section class="panel" aria-labelledby="alerts-title">
      <div class="panel-head">
        <h2 id="alerts-title">Alerts</h2>
        <div class="filters">
          <label>
            <input
              type="checkbox"
              id="show-review"
              checked={showReview}
              onChange={(e) => setShowReview(e.currentTarget.checked)}
            />{' '}
            Review
          </label>
          <label>
            <input
              type="checkbox"
              id="show-decline"
              checked={showDecline}
              onChange={(e) => setShowDecline(e.currentTarget.checked)}
            />{' '}
            Decline
          </label>
          <button type="button" class="ghost" id="reload" onClick={reloadHistory}>
            Reload history
          </button>
        </div>
      </div>
      <ol id="alerts" class="alerts">
        {alerts.map((alert) => (
          <li
            key={alert.transactionId}
            class={`alert ${alert.decision === 'DECLINE' ? 'decline' : 'review'}${alert.fresh ? ' fresh' : ''}`}
            data-decision={alert.decision}
            data-transaction-id={alert.transactionId}
            hidden={alert.decision === 'DECLINE' ? !showDecline : !showReview}
          >
            <div class="alert-head">
              <span class={`badge ${alert.decision === 'DECLINE' ? 'decline' : ''}`}>{alert.decision}</span>
              <span class="amount">{alert.amountText}</span>
              <span class="score">score {scoreOf(alert.score)}</span>
              <span class="meta">
                {[alert.channel, alert.card ? `•••• ${alert.card}` : null, alert.country, `payer ${alert.payer}`]
                  .filter(Boolean)
                  .join(' · ')}
              </span>
              <span class="meta">
                {timeOf(alert.atMs)} · {alert.transactionId}
              </span>
            </div>
            <ul class="reasons">
              {alert.reasons.map((reason) => (
                <li key={reason.code}>
                  <code>{reason.code}</code>
                  {reason.description}
                </li>
              ))}
            </ul>
            <LabelBox ctx={ctx} alert={alert} />
          </li>
        ))}
      </ol>
      {alerts.length === 0 && <p class="muted">Waiting for alerts…</p>}
    </section>
  );
}
