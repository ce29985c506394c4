import type { AnalystLabel, Transaction } from '../../schemas/generated/types.js';

/** A plain card transaction for tests; override any field. */
export function aTransaction(overrides: Partial<Transaction> = {}): Transaction {
  const id = overrides.transactionId ?? `tx-${Math.random().toString(36).slice(2)}`;
  return {
    transactionId: id,
    fingerprint: `fp-${id}`,
    channel: 'CARD',
    kind: 'PURCHASE',
    amountMinor: 2_500n,
    currency: 'EUR',
    settlement: null,
    payerAccountId: 'acct-1',
    payeeAccountId: 'acct-merch-1',
    customerId: 'cust-1',
    card: { token: 'tok-1', bin: '411111', last4: '1111', present: true },
    merchantId: 'merch-1',
    terminalId: 'term-1',
    mcc: '5411',
    deviceId: null,
    ipAddress: null,
    country: 'FR',
    latitude: null,
    longitude: null,
    description: null,
    bankTransfer: null,
    channelReference: null,
    originalTransactionId: null,
    source: 'SIMULATOR',
    submittedBy: null,
    sourceDocument: null,
    eventTimeMs: Date.UTC(2024, 0, 1),
    receivedAtMs: Date.UTC(2024, 0, 1),
    ...overrides,
  };
}

export function aFraudLabel(tx: Transaction, labelledAtMs: number): AnalystLabel {
  return {
    transactionId: tx.transactionId,
    label: 'FRAUD',
    labelledBy: 'analyst-7',
    labelledAtMs,
    transactionEventTimeMs: tx.eventTimeMs,
    payerAccountId: tx.payerAccountId,
    cardToken: tx.card?.token ?? null,
    terminalId: tx.terminalId,
    note: null,
  };
}
