import type { TransactionRequest } from '../schemas/api.js';
import type { Clock } from '../platform/clock.js';
import { ValidationError, describeError, type FieldProblem } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { type AccountDeskApi, setUpPolicyAccounts } from './account-desk.js';
import { TrafficSimulator } from './generator.js';
import { IN_DAY_SHARE } from './timeline.js';
import type { SimulatorState } from './state.js';
import type { SimulatorStateFile } from './state-file.js';
import type { SimulatorOptions } from './types.js';

/** Runs a callback after a delay; injected so tests drive time without real sleeps. */
export interface Scheduler {
  schedule(callback: () => void, delayMs: number): { cancel(): void };
}

/** The real timers. */
export const timerScheduler: Scheduler = Object.freeze({
  schedule(callback: () => void, delayMs: number) {
    const timer = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(timer) };
  },
});

export interface LiveTrafficOptions extends Omit<
  SimulatorOptions,
  'seed' | 'startTimeMs' | 'meanTxPerCustomerPerDay' | 'handbookMode'
> {
  /** Requests per second to emit on average (> 0). */
  readonly tps: number;
  readonly seed: number;
  /** Event times are this clock's now; the schedule follows it too. */
  readonly clock: Clock;
  /** Delivers one batch; at most one call is in flight. A rejection is logged and the batch dropped. */
  readonly send: (batch: TransactionRequest[]) => Promise<void>;
  readonly logger: Logger;
  /** Time between batches. Default 250 ms. */
  readonly batchIntervalMs?: number;
  /** Most requests in one batch. Default: two intervals' worth (at least 1). */
  readonly maxBatchSize?: number;
  /**
   * Most requests owed while sends are slower than the rate; beyond it traffic is skipped rather than
   * queued, so a slow consumer sees the configured rate, not an ever-growing burst. Default: 5 s' worth.
   */
  readonly maxBacklog?: number;
  /** Default: the real timers. */
  readonly scheduler?: Scheduler;
  /**
   * Continue this saved stream (same world, next transaction ids) instead of starting one; its options win
   * over the ones given here, except `tps`, which only paces it. Its seed must be `seed`.
   */
  readonly resume?: SimulatorState;
  /** Where the stream's state goes: reserved before every send, checkpointed every so often and at stop. */
  readonly stateStore?: Pick<SimulatorStateFile, 'save' | 'reserve'>;
  /** Time between checkpoints. Default 10 s. */
  readonly checkpointIntervalMs?: number;
  /**
   * Sets the policy holders' policies (simulator/account-desk.ts). When the world has holders not set up yet,
   * traffic waits until they are (a failure is logged and retried every few seconds); without it they stay
   * unset and traffic runs anyway.
   */
  readonly accountDesk?: AccountDeskApi;
  /** Told, after each delivered batch, which of its transactions were injected fraud (the ground truth). */
  readonly onDelivered?: (
    delivered: ReadonlyArray<{ readonly transactionId: string; readonly fraud: boolean }>,
  ) => void;
}

export interface LiveTraffic {
  /** Stops the timer and resolves once the in-flight send (if any) has settled. Idempotent. */
  stop(): Promise<void>;
  /** Requests delivered so far (batches whose send resolved). */
  sent(): number;
  /** How many of the delivered requests were injected fraud (ground truth, for demos and checks). */
  fraudSent(): number;
}

/** Live-demo population: enough customers that no one customer's history is dominated by the demo rate. */
export const LIVE_DEFAULT_CUSTOMERS = 20_000;
const DEFAULT_BATCH_INTERVAL_MS = 250;
const DEFAULT_BACKLOG_SECONDS = 5;
const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;
const ACCOUNT_SET_UP_RETRY_MS = 5_000;

/**
 * Emits about `tps` simulated requests per second in small batches, stamped with the clock's current time,
 * from a TrafficSimulator whose per-customer rate is derived so its population produces `tps` in real time
 * (with the default fraud scale, about 1 % fraud: a dozen fraudulent requests a minute at 20 tps). A new world has
 * card flows unless `cardFlows: false` (authorisations, their captures and refunds are part of the `tps`).
 * Backpressure: never more than one send in flight; failures are logged and never stop the traffic.
 * Throws ValidationError for a non-positive rate or interval.
 */
export function startLiveTraffic(options: LiveTrafficOptions): LiveTraffic {
  const {
    tps,
    seed,
    clock,
    send,
    logger,
    batchIntervalMs = DEFAULT_BATCH_INTERVAL_MS,
    scheduler = timerScheduler,
    maxBatchSize,
    maxBacklog,
    resume,
    stateStore,
    checkpointIntervalMs = DEFAULT_CHECKPOINT_INTERVAL_MS,
    onDelivered,
    accountDesk,
    ...simulatorOptions
  } = options;
  const problems: FieldProblem[] = [];
  if (!(Number.isFinite(tps) && tps > 0)) problems.push({ path: '/tps', message: 'must be a number > 0' });
  if (!(Number.isFinite(batchIntervalMs) && batchIntervalMs > 0))
    problems.push({ path: '/batchIntervalMs', message: 'must be a number > 0' });
  if (maxBatchSize !== undefined && !(Number.isSafeInteger(maxBatchSize) && maxBatchSize >= 1))
    problems.push({ path: '/maxBatchSize', message: 'must be an integer ≥ 1' });
  if (maxBacklog !== undefined && !(Number.isFinite(maxBacklog) && maxBacklog >= 1))
    problems.push({ path: '/maxBacklog', message: 'must be a number ≥ 1' });
  if (resume !== undefined && resume.options.seed !== seed)
    problems.push({ path: '/seed', message: `must be the resumed state's seed ${resume.options.seed}` });
  if (problems.length > 0)
    throw new ValidationError('invalid live traffic options', problems, 'SIMULATOR_OPTIONS_INVALID');

  const customers = simulatorOptions.customers ?? LIVE_DEFAULT_CUSTOMERS;
  const startMs = clock.nowMs();
  const simulator =
    resume !== undefined
      ? TrafficSimulator.restore(resume)
      : new TrafficSimulator({
          ...simulatorOptions,
          seed,
          customers,
          startTimeMs: Math.floor(startMs),
          // In-day share: the handbook drops times that fall outside the day, so ask for a little more.
          meanTxPerCustomerPerDay: (tps * 86_400) / customers / IN_DAY_SHARE,
          // The demo shows authorisations, their captures and refunds (a resumed world keeps what it was saved with).
          cardFlows: simulatorOptions.cardFlows ?? true,
        });
  let lastCheckpointMs = -Infinity;
  const batchLimit = maxBatchSize ?? Math.max(1, Math.ceil((2 * tps * batchIntervalMs) / 1000));
  const backlogLimit = Math.max(batchLimit, maxBacklog ?? tps * DEFAULT_BACKLOG_SECONDS);

  let owed = 0;
  let lastMs = startMs;
  let delivered = 0;
  let deliveredFraud = 0;
  let inFlight: Promise<void> | undefined;
  let timer: { cancel(): void } | undefined;
  let stopped = false;

  // No holder may spend before its policy and opening balance exist, so the world's traffic waits for them.
  const holdersToSetUp = simulator.policyHolders.length - simulator.accountSetUp.openingsSent;
  let accountsReady = holdersToSetUp === 0;
  let settingUp: Promise<void> | undefined;
  let setUpRetryAtMs = -Infinity;
  if (!accountsReady && accountDesk === undefined) {
    logger.warn('no admin API for the simulator: its policy holders keep unlimited accounts', {
      notSetUp: holdersToSetUp,
    });
    accountsReady = true;
  }
  const setUpAccounts = (nowMs: number): void => {
    if (settingUp !== undefined || nowMs < setUpRetryAtMs || accountDesk === undefined) return;
    settingUp = setUpPolicyAccounts({
      simulator,
      api: accountDesk,
      nowMs: () => clock.nowMs(),
      send,
      ...(onDelivered !== undefined ? { onDelivered } : {}),
      save: () => stateStore?.save(simulator.save()),
      logger,
    })
      .then(
        () => {
          accountsReady = true;
        },
        (error: unknown) => {
          setUpRetryAtMs = clock.nowMs() + ACCOUNT_SET_UP_RETRY_MS;
          logger.warn('policy accounts not set up; retrying before any traffic', { error: describeError(error) });
        },
      )
      .finally(() => {
        settingUp = undefined;
      });
  };

  const dispatch = (nowMs: number): void => {
    const size = Math.min(Math.floor(owed), batchLimit);
    if (size <= 0) return;
    owed -= size;
    const eventTime = new Date(nowMs).toISOString();
    const batch: TransactionRequest[] = [];
    const truth: Array<{ transactionId: string; fraud: boolean }> = [];
    let fraud = 0;
    for (let i = 0; i < size; i++) {
      const next = simulator.nextRequest();
      if (next.fraud) fraud++;
      batch.push({ ...next.request, eventTime });
      truth.push({ transactionId: next.request.transactionId, fraud: next.fraud });
    }
    if (stateStore !== undefined) {
      // Reserved before the send, so a crash after it can skip these ids but never send them twice.
      stateStore.reserve(simulator.count);
      if (nowMs - lastCheckpointMs >= checkpointIntervalMs) {
        stateStore.save(simulator.save());
        lastCheckpointMs = nowMs;
      }
    }
    let sending: Promise<void>;
    try {
      sending = send(batch);
    } catch (error) {
      sending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    inFlight = sending
      .then(
        () => {
          delivered += size;
          deliveredFraud += fraud;
          onDelivered?.(truth);
        },
        (error: unknown) => {
          logger.warn('simulated batch not delivered; continuing', { size, error: describeError(error) });
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
  };

  const tick = (): void => {
    if (stopped) return;
    try {
      const nowMs = clock.nowMs();
      if (accountsReady) owed = Math.min(owed + (tps * Math.max(0, nowMs - lastMs)) / 1000, backlogLimit);
      else setUpAccounts(nowMs);
      lastMs = nowMs;
      if (accountsReady && inFlight === undefined) dispatch(nowMs);
    } catch (error) {
      logger.error('live traffic tick failed; continuing', { error: describeError(error) });
    }
    timer = scheduler.schedule(tick, batchIntervalMs);
  };

  logger.info(resume !== undefined ? 'live traffic resumed' : 'live traffic started', {
    tps,
    customers: simulator.options.customers,
    seed,
    nextTransaction: simulator.count,
    batchIntervalMs,
    fraudScale: simulator.options.fraudScale,
    policyHolders: simulator.policyHolders.length,
    cardFlows: simulator.options.cardFlows,
    pendingFollowUps: simulator.pendingFollowUps,
  });
  timer = scheduler.schedule(tick, batchIntervalMs);

  return {
    async stop() {
      if (!stopped) {
        stopped = true;
        timer?.cancel();
        logger.info('live traffic stopping', { sent: delivered });
      }
      await settingUp;
      await inFlight;
      stateStore?.save(simulator.save());
    },
    sent: () => delivered,
    fraudSent: () => deliveredFraud,
  };
}
