import { randomUUID } from 'node:crypto';
import type { Bus, Subscription } from '../../platform/bus.js';
import { CatchUp } from '../../platform/catch-up.js';
import type { Clock } from '../../platform/clock.js';
import { UnavailableError } from '../../platform/errors.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { type DeadLetterWriter, decodeOrDeadLetter } from '../../schemas/dead-letter.js';
import type { CaseEvent, FraudAlert } from '../../schemas/generated/types.js';
import type { SchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import type { CasesConfig } from '../config.js';
import { type Case, CaseBook, type StepOutcome, caseIdForAlert, groupKeyOf } from '../domain/cases.js';

/** What the case feed tells its listener about each step it folds once the topic's backlog is in. */
export type CaseStepListener = (event: CaseEvent, outcome: StepOutcome, after: Case | undefined) => void;

export interface CaseFeed {
  readonly book: CaseBook;
  readonly subscription: Subscription;
  isLoaded(): boolean;
  /** Resolves once every step on the topic when the feed started is folded. */
  readonly loaded: Promise<void>;
  /**
   * Writes `event` durably and resolves with what this process's fold made of it. Rejects with UnavailableError
   * when the log refuses the write or the fold does not reach it within the step timeout (it may still apply).
   */
  submit(event: CaseEvent): Promise<StepOutcome>;
  /** Resolves once everything on the topic when called is folded here: a check before a write then sees it. */
  catchUp(): Promise<void>;
}

/**
 * Reads Topics.caseEvents whole into a {@link CaseBook}, from the earliest offset in a consumer group of its own per
 * process start, never committing: every dashboards process folds the same steps in the same order (one partition)
 * and so holds the same cases. Undecodable records go to the dead-letter topic. `onStep` hears each step folded
 * after the backlog (steps folded while loading are history, not news).
 */
export async function startCaseFeed(
  bus: Bus,
  registry: SchemaRegistry,
  deadLetters: DeadLetterWriter,
  options: { readonly stepTimeoutMs: number; readonly onStep?: CaseStepListener },
): Promise<CaseFeed> {
  const codec: Codec<CaseEvent> = await createCodec<CaseEvent>(registry, Topics.caseEvents);
  const book = new CaseBook();
  const progress = await CatchUp.of(bus, Topics.caseEvents);
  const { isLoaded, loaded } = progress;
  const stepWaiters = new Map<string, (outcome: StepOutcome) => void>();
  let offsetWaiters: Array<{ offset: number; resolve: () => void }> = [];
  const producer = bus.producer();

  const subscription = await bus.subscribe(
    {
      groupId: `dashboards.cases.${randomUUID()}`,
      topics: [Topics.caseEvents],
      startFrom: 'earliest',
      commitMode: 'manual',
      deadLetter: deadLetters.sink,
    },
    async (batch) => {
      const live = isLoaded();
      for (const { value } of await decodeOrDeadLetter(batch, codec, deadLetters)) {
        const outcome = book.apply(value);
        stepWaiters.get(value.eventId)?.(outcome);
        stepWaiters.delete(value.eventId);
        if (live && options.onStep !== undefined) {
          const caseId = outcome.kind === 'refused' ? value.caseId : outcome.caseId;
          options.onStep(value, outcome, book.get(caseId));
        }
      }
      progress.handled(batch);
      const nextOffset = progress.nextOffset(0);
      const reached = offsetWaiters.filter((w) => w.offset <= nextOffset);
      offsetWaiters = offsetWaiters.filter((w) => w.offset > nextOffset);
      for (const waiter of reached) waiter.resolve();
    },
  );

  const withTimeout = <T>(what: string, promise: Promise<T>, onTimeout: () => void): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        onTimeout();
        reject(
          new UnavailableError('CASES_UNAVAILABLE', `cases: ${what} not folded within ${options.stepTimeoutMs} ms`),
        );
      }, options.stepTimeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };

  return {
    book,
    subscription,
    isLoaded,
    loaded,
    submit: async (event) => {
      const folded = new Promise<StepOutcome>((resolve) => stepWaiters.set(event.eventId, resolve));
      try {
        await producer.send(Topics.caseEvents, [{ key: event.eventId, value: codec.encode(event) }]);
      } catch (error) {
        stepWaiters.delete(event.eventId);
        throw error;
      }
      return withTimeout(`step ${event.eventId}`, folded, () => stepWaiters.delete(event.eventId));
    },
    catchUp: async () => {
      const end = (await bus.endOffsets(Topics.caseEvents))[0] ?? 0;
      if (progress.nextOffset(0) >= end) return;
      const waiter = { offset: end, resolve: () => undefined as void };
      const reached = new Promise<void>((resolve) => (waiter.resolve = resolve));
      offsetWaiters.push(waiter);
      await withTimeout(`the log up to offset ${end}`, reached, () => {
        offsetWaiters = offsetWaiters.filter((w) => w !== waiter);
      });
    },
  };
}

/**
 * Turns every REVIEW and DECLINE alert on fraud.alerts into an ALERT step on Topics.caseEvents, in the consumer group
 * `config.groupId` that all dashboards replicas share. The step carries its group key and join window, fixed here,
 * so every fold (and every replay) groups it the same way; a redelivered alert is a duplicate the fold ignores.
 */
export async function startCaseIntake(
  bus: Bus,
  registry: SchemaRegistry,
  deadLetters: DeadLetterWriter,
  clock: Clock,
  config: Pick<CasesConfig, 'groupId' | 'groupBy' | 'joinWindowMs'>,
): Promise<Subscription> {
  const alertCodec = await createCodec<FraudAlert>(registry, Topics.fraudAlerts);
  const caseCodec = await createCodec<CaseEvent>(registry, Topics.caseEvents);
  const producer = bus.producer();
  return bus.subscribe(
    { groupId: config.groupId, topics: [Topics.fraudAlerts], startFrom: 'earliest', deadLetter: deadLetters.sink },
    async (batch) => {
      const steps = [];
      for (const { value: alert } of await decodeOrDeadLetter(batch, alertCodec, deadLetters)) {
        if (alert.decision === 'APPROVE') continue;
        const event = alertStep(alert, clock.nowMs(), config);
        steps.push({ key: event.eventId, value: caseCodec.encode(event) });
      }
      // Durable before the batch's offsets are committed: an alert is never lost between the two topics.
      if (steps.length > 0) await producer.send(Topics.caseEvents, steps);
    },
  );
}

/** The ALERT step of `alert`: the case it opens (if it joins none) is named after it. */
export function alertStep(
  alert: FraudAlert,
  atMs: number,
  config: Pick<CasesConfig, 'groupBy' | 'joinWindowMs'>,
): CaseEvent {
  const caseAlert = {
    alertId: alert.alertId,
    transactionId: alert.transactionId,
    decision: alert.decision,
    score: alert.score,
    amountMinor: alert.amountMinor,
    currency: alert.currency,
    payerAccountId: alert.payerAccountId,
    cardToken: alert.cardToken,
    eventTimeMs: alert.eventTimeMs,
    raisedAtMs: alert.raisedAtMs,
  };
  return {
    eventId: `alert-${alert.alertId}`,
    caseId: caseIdForAlert(alert.alertId),
    action: 'ALERT',
    actor: 'system',
    actorName: null,
    atMs,
    alert: caseAlert,
    groupKey: groupKeyOf(caseAlert, config.groupBy),
    joinWithinMs: BigInt(config.joinWindowMs),
    assignee: null,
    note: null,
    resolution: null,
    releaseNeedsApproval: null,
  };
}
