import type { RecordBatch } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import type { Counter, MetricsRegistry } from '../../platform/metrics.js';
import type { Codec } from '../../schemas/codec.js';
import { type DeadLetterWriter, decodeOrDeadLetter } from '../../schemas/dead-letter.js';
import type { ShadowDecision } from '../../schemas/generated/types.js';
import type { ShadowDecisionStore } from '../ports.js';

/**
 * Stores the challenger's decisions (Topics.shadowDecisions) in `shadow_decisions`, one insert per batch, for the
 * champion-challenger report. Nothing here touches the ledger: these decisions are never acted on. A redelivered
 * batch is stored once (the table's insert-once entry); an undecodable record is dead-lettered.
 */
export class ShadowDecisionWriter {
  private readonly stored: Counter;

  constructor(
    private readonly deps: {
      readonly store: ShadowDecisionStore;
      readonly codec: Codec<ShadowDecision>;
      readonly deadLetters: DeadLetterWriter;
      readonly clock: Clock;
      readonly metrics: MetricsRegistry;
    },
  ) {
    this.stored = deps.metrics.counter(
      'vigil_ledger_shadow_decisions_stored_total',
      'Challenger decisions written to shadow_decisions (a redelivered record counts again; the table keeps it once).',
    );
  }

  /** Stores one batch; rejects (retriable) when the store is unreachable, so the bus redelivers it. */
  async handle(batch: RecordBatch): Promise<void> {
    const decoded = await decodeOrDeadLetter(batch, this.deps.codec, this.deps.deadLetters);
    if (decoded.length === 0) return;
    await this.deps.store.insertShadowDecisions(
      decoded.map((d) => d.value),
      this.deps.clock.nowMs(),
    );
    this.stored.inc({}, decoded.length);
  }
}
