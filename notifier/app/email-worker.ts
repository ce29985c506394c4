import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus, BusRecord, RecordBatch, Subscription } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { ErrorCategory, VigilError, describeError } from '../../platform/errors.js';
import { KeyedLock } from '../../platform/keyed-lock.js';
import type { Logger } from '../../platform/logger.js';
import type { Counter } from '../../platform/metrics.js';
import { EmailHeaders } from '../../schemas/notifications.js';
import { OutboxTopics } from '../../schemas/topics.js';
import { type RetryPolicy, nextStep } from '../domain/delivery-policy.js';
import {
  type Digest,
  type EmailAlert,
  type EmailSubscriptionRecord,
  type MailContent,
  type SmtpResult,
  addToDigest,
  digestMail,
  digestSize,
  emptyDigest,
  immediateMail,
  isImmediate,
  mailCarriesPan,
  smtpOutcome,
} from '../domain/email.js';
import type { MailTransport } from '../ports.js';
import type { EmailDeliveryLog, MailKind, MailOutcome } from './email-delivery-log.js';

export interface EmailWorkerDeps {
  readonly outbox: Bus;
  readonly transport: MailTransport;
  readonly deliveries: EmailDeliveryLog;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Deferred mails are retried with its backoff for its retry period; its failure count is the refusal limit. */
  readonly policy: RetryPolicy;
  readonly digestMaxAlerts: number;
  /** In [0, 1), for backoff jitter. */
  readonly random: () => number;
  /** The console's URL and this subscription's unsubscribe URL. */
  readonly consoleUrl: string;
  readonly unsubscribeUrl: string;
  /** The domain of Message-IDs (the From address's). */
  readonly messageIdDomain: string;
  readonly mailsTotal: Counter;
  /** Called once when the relay refused too many mails in a row: records the subscription as suspended. */
  readonly suspend: () => Promise<void>;
}

/** Alert ids remembered per subscription and kind against copies of the same alert. */
const RECENT_ALERT_IDS = 10_000;

/** Thrown inside the worker when it must stop (closing, unsubscribed, suspended). */
class WorkerStopped extends VigilError {
  constructor(subscriptionId: string) {
    super('NOTIFIER_CLOSED', `mails to subscription ${subscriptionId} stopped`, {
      category: ErrorCategory.unavailable,
      retriable: true,
    });
  }
}

/** The consumer groups holding a subscription's two cursors on `email.alerts`. */
export function emailGroupIds(subscriptionId: string): Record<MailKind, string> {
  return { immediate: `email-immediate-${subscriptionId}`, digest: `email-digest-${subscriptionId}` };
}

/** `<vigil.` + 32 base64url characters of SHA-256 over what the mail is about + `@domain>`: the same on every resend. */
export function messageIdFor(domain: string, subscriptionId: string, kind: MailKind, subject: string): string {
  const digest = createHash('sha256').update(`${subscriptionId}\u0000${kind}\u0000${subject}`).digest('base64url');
  return `<vigil.${digest.slice(0, 32)}@${domain}>`;
}

/**
 * Mails `email.alerts` to one subscription through two consumer groups on the outbox, so neither kind holds the
 * other back:
 *  - immediate: alerts the subscription mails at once, sent in order, the group committed after each batch — a
 *    crash re-reads at most the batch in flight, and the delivery log's progress skips those already settled;
 *  - digest: every other alert, gathered in memory (bounded: `digestMaxAlerts` listed, the rest counted) and
 *    mailed every `digestEveryMs`; the group is committed only right after a digest was settled, under a lock
 *    that keeps new alerts out of the digest while it is sent — so a crash loses nothing (the digest's alerts are
 *    read again) and a digest that was sent is not sent again (its last offset is on the delivery log).
 * A deferred mail (4xx, no reply) is retried with backoff and jitter for the retry period and holds back the
 * later mails of its kind; a refused one (5xx) is dropped, and too many refusals in a row suspend the subscription.
 */
export class EmailWorker {
  private readonly abort = new AbortController();
  private readonly lock = new KeyedLock();
  private digest: Digest = emptyDigest;
  private immediate: Subscription | undefined;
  private digests: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private nextDigestAtMs: number;
  /**
   * Alert ids mailed (or gathered) lately, per kind, oldest first: the fan-out writes an alert again after a crash
   * (at a later offset), and that copy must not be mailed twice. Bounded; after a restart only the delivery log's
   * offsets protect, so a copy written across a crash of both may be mailed twice (same Message-ID).
   */
  private readonly recent: Record<MailKind, Set<string>> = { immediate: new Set(), digest: new Set() };

  private constructor(
    private readonly deps: EmailWorkerDeps,
    private readonly subscription: EmailSubscriptionRecord,
  ) {
    this.nextDigestAtMs =
      (deps.deliveries.lastDigestAtMs(subscription.id) ?? deps.clock.nowMs()) + subscription.digestEveryMs;
  }

  /**
   * Starts mailing. A `fresh` subscription starts both cursors at the current end of `email.alerts` and commits
   * them before this resolves, so no alert read after registration is skipped, even across a crash.
   */
  static async start(
    deps: EmailWorkerDeps,
    subscription: EmailSubscriptionRecord,
    fresh: boolean,
  ): Promise<EmailWorker> {
    const worker = new EmailWorker(deps, subscription);
    const groups = emailGroupIds(subscription.id);
    try {
      worker.immediate = await deps.outbox.subscribe(
        { groupId: groups.immediate, topics: [OutboxTopics.emailAlerts], startFrom: 'latest' },
        (batch) => worker.mailImmediately(batch),
      );
      worker.digests = await deps.outbox.subscribe(
        { groupId: groups.digest, topics: [OutboxTopics.emailAlerts], startFrom: 'latest', commitMode: 'manual' },
        (batch) => worker.gather(batch),
      );
      if (fresh) await Promise.all([worker.immediate.commit(), worker.digests.commit()]);
    } catch (error) {
      await worker.stop();
      throw error;
    }
    worker.schedule();
    return worker;
  }

  /** Alerts read but not yet mailed in a digest, for the pending metric. */
  pendingDigestAlerts(): number {
    return digestSize(this.digest);
  }

  /** Stops mailing: waits end now; what was not settled is read again after a restart. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.abort.abort();
      clearTimeout(this.timer);
      await this.flushing;
      await this.immediate?.close();
      await this.digests?.close();
    })();
    return this.stopped;
  }

  private alertsOf(batch: RecordBatch, kind: MailKind): Array<{ record: BusRecord; alert: EmailAlert }> {
    const settled = this.deps.deliveries.settledThrough(this.subscription.id, kind);
    const found: Array<{ record: BusRecord; alert: EmailAlert }> = [];
    for (const record of batch.records) {
      if (record.offset <= settled) continue;
      const alert = JSON.parse(record.value.toString('utf8')) as EmailAlert;
      if (isImmediate(this.subscription, alert) !== (kind === 'immediate')) continue;
      if (!this.recent[kind].has(alert.alertId)) found.push({ record, alert });
    }
    return found;
  }

  /** Called once the alert is settled (immediate) or in the digest: later copies of it are skipped. */
  private remember(kind: MailKind, alertId: string): void {
    const recent = this.recent[kind];
    recent.add(alertId);
    if (recent.size > RECENT_ALERT_IDS) recent.delete(recent.values().next().value!);
  }

  private async mailImmediately(batch: RecordBatch): Promise<void> {
    for (const { record, alert } of this.alertsOf(batch, 'immediate')) {
      const content = immediateMail(alert, this.links());
      await this.send('immediate', content, alert.alertId, record.offset, 1);
      this.remember('immediate', alert.alertId);
    }
  }

  private async gather(batch: RecordBatch): Promise<void> {
    const release = await this.lock.acquire(['digest']);
    try {
      if (this.abort.signal.aborted) throw new WorkerStopped(this.subscription.id);
      for (const { record, alert } of this.alertsOf(batch, 'digest')) {
        this.digest = addToDigest(this.digest, alert, record.offset, this.deps.digestMaxAlerts);
        this.remember('digest', alert.alertId);
      }
    } finally {
      release();
    }
  }

  private schedule(): void {
    if (this.abort.signal.aborted) return;
    const waitMs = Math.max(0, this.nextDigestAtMs - this.deps.clock.nowMs());
    this.timer = setTimeout(() => {
      this.flushing = this.flush()
        .catch((error: unknown) => {
          if (!(error instanceof WorkerStopped))
            this.deps.logger.error('e-mail digest failed; it is sent again at the next tick', {
              subscriptionId: this.subscription.id,
              error: describeError(error),
            });
        })
        .finally(() => this.schedule());
    }, waitMs);
  }

  /** Mails the digest if it holds anything, then commits the digest cursor past everything gathered. */
  private async flush(): Promise<void> {
    const release = await this.lock.acquire(['digest']);
    try {
      const digest = this.digest;
      if (digestSize(digest) > 0) {
        const content = digestMail(digest, this.links());
        await this.send('digest', content, `through ${digest.throughOffset}`, digest.throughOffset, digestSize(digest));
        this.digest = emptyDigest;
      }
      this.nextDigestAtMs = this.deps.clock.nowMs() + this.subscription.digestEveryMs;
      await this.digests?.commit();
    } finally {
      release();
    }
  }

  private links() {
    return { consoleUrl: this.deps.consoleUrl, unsubscribeUrl: this.deps.unsubscribeUrl };
  }

  /**
   * Sends one mail until the relay settles it; records the outcome. Throws WorkerStopped when the worker must
   * stop (the mail is then read again after a restart).
   */
  private async send(kind: MailKind, content: MailContent, about: string, throughOffset: number, alerts: number) {
    const { clock, policy, transport, deliveries, logger } = this.deps;
    const signal = this.abort.signal;
    const id = this.subscription.id;
    const messageId = messageIdFor(this.deps.messageIdDomain, id, kind, about);
    const settle = async (outcome: MailOutcome, attempts: number, error: string | null) => {
      this.deps.mailsTotal.inc({ kind, outcome });
      await deliveries.record({
        subscriptionId: id,
        kind,
        messageId,
        outcome,
        throughOffset,
        alerts,
        attempts,
        atMs: clock.nowMs(),
        error,
      });
    };
    if (mailCarriesPan(content)) {
      logger.error('e-mail withheld: its content carries a card number', { subscriptionId: id, kind, messageId });
      await settle('withheld', 0, 'content carries a card number');
      return;
    }
    const mail = {
      to: this.subscription.email,
      ...content,
      messageId,
      headers: {
        'List-Unsubscribe': `<${this.deps.unsubscribeUrl}>`,
        // RFC 8058: a mail client may unsubscribe with one POST, without the user opening a page.
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        // RFC 3834: no out-of-office replies to alert mails.
        'Auto-Submitted': 'auto-generated',
        [EmailHeaders.kind]: kind,
        [EmailHeaders.subscriptionId]: id,
      },
    };
    const firstAttemptAtMs = clock.nowMs();
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new WorkerStopped(id);
      const result: SmtpResult = await transport.send(mail);
      const outcome = smtpOutcome(result);
      const error = result.kind === 'accepted' ? null : result.message;
      if (outcome === 'sent') return settle('sent', attempt, null);
      if (outcome === 'refused') {
        await settle('refused', attempt, error);
        const refusals = deliveries.refusalsInARow(id);
        logger.warn('e-mail refused by the relay; not retried', {
          subscriptionId: id,
          kind,
          messageId,
          refusals,
          error,
        });
        if (refusals >= policy.maxConsecutiveFailures) {
          this.abort.abort();
          await this.deps.suspend();
          throw new WorkerStopped(id);
        }
        return;
      }
      this.deps.mailsTotal.inc({ kind, outcome: 'deferred' });
      // Deferrals say nothing about the address, so they never suspend it: consecutive failures passed as 0.
      const step = nextStep(policy, 'failed', attempt, firstAttemptAtMs, clock.nowMs(), 0, this.deps.random());
      if (step.kind !== 'retry') {
        logger.warn('e-mail given up after the retry period', {
          subscriptionId: id,
          kind,
          messageId,
          attempts: attempt,
        });
        return settle('expired', attempt, error);
      }
      logger.warn('e-mail deferred; retrying', {
        subscriptionId: id,
        kind,
        messageId,
        attempt,
        retryInMs: step.afterMs,
        error,
      });
      try {
        await sleep(step.afterMs, undefined, { signal });
      } catch {
        throw new WorkerStopped(id);
      }
    }
  }
}
