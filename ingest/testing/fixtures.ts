import type { Logger } from '../../platform/logger.js';
import type { TransactionRequest } from '../../schemas/api.js';

/** Test fixtures for ingest. Card numbers are the networks' published test PANs. */
export const TEST_PAN = '4111111111111111';
export const TEST_PAN_2 = '5555555555554444';
/** A 32+ character tokenisation key for tests. */
export const TEST_KEY = 'test-tokenization-key-0123456789abcdef';
export const NOW_MS = Date.UTC(2026, 10, 24, 9, 0, 0);

/** A valid card request (raw PAN); override any top-level field (with anything: tests send invalid bodies too). */
export function cardRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const request: TransactionRequest = {
    transactionId: 'tx-0001',
    channel: 'card',
    amount: { value: '12.34', currency: 'EUR' },
    payer: { accountId: 'acct-payer-1' },
    payee: { accountId: 'acct-merchant-1' },
    card: { number: TEST_PAN, present: true },
    merchant: { id: 'm-1', terminalId: 't-1', mcc: '5411' },
    device: { id: 'dev-1', ip: '192.0.2.1' },
    location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
    description: 'groceries',
    eventTime: '2026-11-24T08:59:00.000Z',
  };
  return { ...request, ...overrides };
}

/** A valid SEPA transfer request. */
export function transferRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    transactionId: 'tx-sepa-1',
    channel: 'sepa',
    amount: { value: '250.00', currency: 'EUR' },
    payer: { accountId: 'DE89370400440532013000', customerId: 'cust-9' },
    payee: { accountId: 'FR1420041010050500013M02606' },
    bankTransfer: { scheme: 'SEPA_CT', endToEndId: 'E2E-1', remittanceInfo: 'invoice 42' },
    ...overrides,
  };
}

/**
 * A logger that records every line verbatim, without the platform logger's PAN masking: a test that searches
 * these lines for a card number fails if ingest ever logs one.
 */
export function recordingLogger(lines: string[] = []): Logger & { lines: string[] } {
  const make = (base: Record<string, unknown>): Logger => {
    const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
      lines.push(
        JSON.stringify({ level, msg, ...base, ...fields }, (_k, v: unknown) =>
          typeof v === 'bigint' ? v.toString() : v,
        ),
      );
    };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return Object.assign(make({}), { lines });
}
