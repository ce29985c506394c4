import { describeError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { LedgerBatchHandler } from './ledger-writer.js';

/** Holds ended per sweep at most; a backlog is worked off over successive sweeps. */
const HOLDS_PER_SWEEP = 1000;

/**
 * Every `intervalMs`, ends the holds whose timeout has passed. One sweep at a time; a failed sweep (the store is
 * down) is logged and the next one tries again, so expiry is late during an outage, never lost.
 */
export function sweepExpiredHolds(
  handler: LedgerBatchHandler,
  intervalMs: number,
  logger: Logger,
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= handler
      .expireHolds(HOLDS_PER_SWEEP)
      .then((report) => {
        const ended = report.outcomes.hold_posted + report.outcomes.hold_voided;
        if (ended > 0) logger.info('expired holds ended', { ...report.outcomes });
      })
      .catch((error: unknown) =>
        logger.warn('hold expiry sweep failed; the next sweep retries', { error: describeError(error) }),
      )
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
