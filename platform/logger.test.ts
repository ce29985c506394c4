import { createLogger, redact } from './logger.js';

describe('logger', () => {
  it('masks anything shaped like a card number, with or without separators', () => {
    expect(redact('pan 4111111111111111 and 4111 1111 1111 1111 and 5555-5555-5555-4444')).toBe(
      'pan [REDACTED-PAN] and [REDACTED-PAN] and [REDACTED-PAN]',
    );
    expect(redact('offset 123456 amount 1234 at 1764000000000')).toBe('offset 123456 amount 1234 at 1764000000000');
    expect(redact('not luhn 4111111111111112')).toBe('not luhn 4111111111111112');
  });

  it('writes JSON lines with bigint as strings and PANs redacted', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l), level: 'info' }).child({ stage: 'test' });
    logger.debug('hidden');
    logger.info('seen', { amountMinor: 2n ** 63n - 1n, note: 'card 4111111111111111' });
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      level: 'info',
      msg: 'seen',
      stage: 'test',
      amountMinor: '9223372036854775807',
      note: 'card [REDACTED-PAN]',
    });
  });
});
