import type { Producer } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import type { Codec } from '../../schemas/codec.js';
import type { AnalystLabel } from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';
import type { ChargebackRecorder, ChargebackVerdict } from '../ports.js';

/** Who a chargeback's verdict is by, as analyst.labels and the ledger's REVERSED events name it. */
export const CHARGEBACK_LABELLER = 'chargeback';

/**
 * Chargebacks as FRAUD labels on analyst.labels — the record `POST /v1/labels` writes for an analyst — so ledger-sink
 * reverses the booked payment (cause FRAUD_VERDICT, causedBy `chargeback`) and scoring learns from it. Keyed by the
 * payer account like every label (topics.ts), by the transaction id when the gateway does not name the payer.
 */
export class LogChargebackRecorder implements ChargebackRecorder {
  constructor(
    private readonly producer: Producer,
    private readonly codec: Codec<AnalystLabel>,
    private readonly clock: Clock,
  ) {}

  async record(verdicts: readonly ChargebackVerdict[]): Promise<ReadonlyArray<{ partition: number; offset: number }>> {
    if (verdicts.length === 0) return [];
    const labelledAtMs = this.clock.nowMs();
    const labels = verdicts.map((v): AnalystLabel => ({
      transactionId: v.transactionId,
      label: 'FRAUD',
      labelledBy: CHARGEBACK_LABELLER,
      labelledAtMs,
      transactionEventTimeMs: v.transactionEventTimeMs,
      payerAccountId: v.payerAccountId,
      cardToken: null,
      terminalId: null,
      note: v.note,
    }));
    const positions = await this.producer.send(
      Topics.analystLabels,
      labels.map((label) => ({ key: label.payerAccountId ?? label.transactionId, value: this.codec.encode(label) })),
    );
    return positions.map(({ partition, offset }) => ({ partition, offset }));
  }
}
