import type { AlertPage, AuditTrail, LabelRequest } from '../schemas/api.js';
import type { Clock } from '../platform/clock.js';
import { describeError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { type Scheduler, timerScheduler } from './live.js';

/**
 * Simulated analysts and a simulated chargeback desk, so the embedded default shows the whole ledger lifecycle
 * (`npm start`): a REVIEW's hold posted by a GENUINE verdict or voided by a FRAUD one, and fraud that was approved
 * coming back as a chargeback that reverses what was booked.
 *
 * They know the simulator's ground truth ({@link GroundTruth}) and act only through the public API with the
 * analyst's key, as people would: `GET /v1/alerts` for reviews nobody labelled, `GET /v1/transactions/{id}` to see
 * what was booked, `POST /v1/labels` for the verdict. One round at a time; a failed call is logged and the round
 * ends, the next one starts over.
 */

/** Which simulated transactions were fraud, for the last `capacity` transactions sent. */
export class GroundTruth {
  private readonly fraudById = new Map<string, boolean>();
  /** Fraud ids in the order they were sent, with when: the chargeback queue. */
  private readonly fraudQueue: Array<{ readonly id: string; readonly sentAtMs: number }> = [];

  constructor(private readonly capacity = 100_000) {}

  record(transactionId: string, fraud: boolean, sentAtMs: number): void {
    this.fraudById.set(transactionId, fraud);
    if (this.fraudById.size > this.capacity) this.fraudById.delete(this.fraudById.keys().next().value!);
    if (fraud) {
      this.fraudQueue.push({ id: transactionId, sentAtMs });
      if (this.fraudQueue.length > this.capacity) this.fraudQueue.shift();
    }
  }

  /** True or false for a transaction sent recently, undefined for one it does not know. */
  isFraud(transactionId: string): boolean | undefined {
    return this.fraudById.get(transactionId);
  }

  /** Removes and returns up to `max` fraud ids sent at or before `beforeMs`, oldest first. */
  takeFraudSentBefore(beforeMs: number, max: number): string[] {
    const taken: string[] = [];
    while (taken.length < max && this.fraudQueue.length > 0 && this.fraudQueue[0]!.sentAtMs <= beforeMs)
      taken.push(this.fraudQueue.shift()!.id);
    return taken;
  }
}

/** The calls the desk makes, with the analyst's key (embedded/pipeline.ts gives it the HTTP API). */
export interface AnalystApi {
  get<T>(path: string): Promise<{ readonly status: number; readonly body: T }>;
  post<T>(path: string, body: unknown): Promise<{ readonly status: number; readonly body: T }>;
}

/** The API over HTTP at `baseUrl` with `key` as the bearer token. */
export function httpAnalystApi(baseUrl: string, key: string): AnalystApi {
  const call = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };
  return { get: (path) => call('GET', path), post: (path, body) => call('POST', path, body) };
}

export interface VerdictDeskOptions {
  readonly api: AnalystApi;
  readonly truth: GroundTruth;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Time between rounds. Default 5 s. */
  readonly intervalMs?: number;
  /** An analyst looks at a REVIEW this long after it was scored. Default 15 s. */
  readonly reviewAfterMs?: number;
  /** Approved fraud comes back as a chargeback this long after it was sent. Default 60 s. */
  readonly chargebackAfterMs?: number;
  /** Most verdicts per round of each kind. Default 50. */
  readonly maxPerRound?: number;
  readonly scheduler?: Scheduler;
}

export interface VerdictDesk {
  /** Stops scheduling and resolves once the round in progress (if any) has ended. Idempotent. */
  stop(): Promise<void>;
  /** Verdicts given so far: review decisions, and chargebacks filed. */
  counts(): { readonly reviews: number; readonly chargebacks: number };
}

export function startVerdictDesk(options: VerdictDeskOptions): VerdictDesk {
  const {
    api,
    truth,
    clock,
    logger,
    intervalMs = 5_000,
    reviewAfterMs = 15_000,
    chargebackAfterMs = 60_000,
    maxPerRound = 50,
    scheduler = timerScheduler,
  } = options;
  let reviews = 0;
  let chargebacks = 0;
  /** Genuine reviews above the four-eyes limit: released through their case by two people, never by the desk. */
  const leftForPeople = new Set<string>();
  let stopped = false;
  let round: Promise<void> | undefined;
  let timer: { cancel(): void } | undefined;

  /** True when the verdict was taken; false when only a case with a second analyst may release the hold. */
  const label = async (request: LabelRequest): Promise<boolean> => {
    const response = await api.post<{ code?: string } | undefined>('/v1/labels', request);
    if (response.status === 409 && response.body?.code === 'CASE_RELEASE_NEEDS_APPROVAL') return false;
    if (response.status !== 202) throw new Error(`POST /v1/labels answered ${response.status}`);
    return true;
  };

  const reviewRound = async (nowMs: number): Promise<void> => {
    const page = await api.get<AlertPage>('/v1/alerts?decision=REVIEW&limit=200');
    if (page.status !== 200) throw new Error(`GET /v1/alerts answered ${page.status}`);
    const due = page.body.alerts.filter(
      (a) =>
        a.label === null &&
        !leftForPeople.has(a.transactionId) &&
        Date.parse(a.scoredAt) <= nowMs - reviewAfterMs &&
        truth.isFraud(a.transactionId) !== undefined,
    );
    for (const alert of due.slice(0, maxPerRound)) {
      const fraud = truth.isFraud(alert.transactionId)!;
      const taken = await label({
        transactionId: alert.transactionId,
        label: fraud ? 'fraud' : 'genuine',
        note: 'simulated analyst',
      });
      if (taken) reviews += 1;
      else {
        // A demo for the console: its case waits for an analyst to resolve it and a second one to approve.
        leftForPeople.add(alert.transactionId);
        if (leftForPeople.size > 10_000) leftForPeople.delete(leftForPeople.values().next().value!);
        logger.info('simulated analyst left a release above the four-eyes limit to its case', {
          transactionId: alert.transactionId,
        });
      }
    }
  };

  const chargebackRound = async (nowMs: number): Promise<void> => {
    for (const id of truth.takeFraudSentBefore(nowMs - chargebackAfterMs, maxPerRound)) {
      const trail = await api.get<AuditTrail>(`/v1/transactions/${encodeURIComponent(id)}`);
      if (trail.status === 404) continue; // never decided (refused at the edge): nothing to charge back
      if (trail.status !== 200) throw new Error(`GET /v1/transactions answered ${trail.status}`);
      // Only money that was booked comes back; declined or still-held fraud is the review desk's.
      const booked = trail.body.ledgerEntries.length > 0;
      if (!booked || trail.body.labels.some((l) => l.label === 'FRAUD')) continue;
      await label({ transactionId: id, label: 'fraud', note: 'chargeback (simulated)' });
      chargebacks += 1;
    }
  };

  const tick = (): void => {
    if (stopped) return;
    round ??= (async () => {
      const nowMs = clock.nowMs();
      try {
        await reviewRound(nowMs);
        await chargebackRound(nowMs);
      } catch (error) {
        logger.warn('simulated verdict round failed; the next round starts over', { error: describeError(error) });
      }
    })().finally(() => {
      round = undefined;
    });
    timer = scheduler.schedule(tick, intervalMs);
  };
  timer = scheduler.schedule(tick, intervalMs);

  return {
    async stop() {
      stopped = true;
      timer?.cancel();
      await round;
    },
    counts: () => ({ reviews, chargebacks }),
  };
}
