import type { Transaction } from './generated/types.js';

/** A valid canonical transaction for tests; override any field. */
export function sampleTransaction(overrides: Partial<Transaction> = {}): Transaction {
  return {
    transactionId: 'tx-0001',
    fingerprint: 'f'.repeat(64),
    channel: 'CARD',
    kind: 'PURCHASE',
    amountMinor: 12_345n,
    currency: 'EUR',
    settlement: null,
    payerAccountId: 'acct-payer-1',
    payeeAccountId: 'acct-merchant-1',
    customerId: 'cust-1',
    card: { token: 'tok_abc', bin: '411111', last4: '1111', present: false },
    merchantId: 'm-1',
    terminalId: 't-1',
    mcc: '5411',
    deviceId: 'dev-1',
    ipAddress: '192.0.2.1',
    country: 'FR',
    latitude: 48.85,
    longitude: 2.35,
    description: 'groceries',
    bankTransfer: null,
    channelReference: null,
    originalTransactionId: null,
    source: 'API',
    submittedBy: null,
    sourceDocument: null,
    eventTimeMs: 1_764_000_000_000,
    receivedAtMs: 1_764_000_000_050,
    ...overrides,
  };
}
