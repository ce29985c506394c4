import type { AuditTrail, LedgerIntegrity } from '../schemas/api.js';
import { ledgerInvariantViolations, webhookDeliveryViolations } from './testing.js';

/** The e2e invariant checks on plain data: a sound run passes, and each planted fault is reported. */

const money = (amountMinor: bigint, currency = 'EUR'): AuditTrail['ledgerEntries'][number]['amount'] => ({
  amount: '',
  amountMinor: amountMinor.toString(),
  currency,
});

function trail(id: string, outcome: AuditTrail['decision']['outcome'], amountMinor = 500n): AuditTrail {
  const posted = outcome !== 'DECLINE';
  return {
    transactionId: id,
    fingerprint: `fp-${id}`,
    transaction: {
      channel: 'CARD',
      kind: 'PURCHASE',
      source: 'API',
      amount: money(amountMinor),
      payerAccountId: 'acc-1',
      payeeAccountId: 'acc-2',
      customerId: null,
      card: null,
      merchantId: null,
      terminalId: null,
      mcc: null,
      deviceId: null,
      country: null,
      description: null,
    },
    decision: {
      outcome,
      score: 0.5,
      reasons: [],
      reasonCodes: [],
      rulesFired: [],
      modelVersion: 'm',
      rulesVersion: 'r',
    },
    features: {},
    input: {},
    timeline: {
      eventTime: '',
      receivedAt: '',
      scoredAt: '',
      storedAt: '',
      receivedToScoredMs: 0,
      scoredToStoredMs: 0,
    },
    decisionRecords: 1,
    ledgerEntries: posted
      ? [
          {
            entryId: `${id}/0`,
            leg: 0,
            accountId: 'acc-1',
            amount: money(-amountMinor),
            entryType: 'PRINCIPAL',
            eventTime: '',
            postedAt: '',
          },
          {
            entryId: `${id}/1`,
            leg: 1,
            accountId: 'acc-2',
            amount: money(amountMinor),
            entryType: 'PRINCIPAL',
            eventTime: '',
            postedAt: '',
          },
        ]
      : [],
    labels: [],
    conflicts: [],
  };
}

/** A sound run of 10 transactions, two of them declined: 8 posted with 2 legs each. */
const integrity: LedgerIntegrity = {
  decisionRows: 10,
  distinctDecisions: 10,
  postedTransactions: 8,
  entries: 16,
  duplicateEntries: 0,
  unbalancedTransactions: 0,
  declinedWithEntries: 0,
  postableDecisions: 8,
  decisionsWithoutEntries: 0,
  entriesWithoutDecisions: 0,
  conflicts: 0,
  totalsByCurrency: [{ currency: 'EUR', sumMinor: '0' }],
};
const declined = new Set(['tx-d1', 'tx-d2']);
const trails = [
  trail('tx-a', 'APPROVE'),
  trail('tx-r', 'REVIEW'),
  trail('tx-d1', 'DECLINE'),
  trail('tx-d2', 'DECLINE'),
];
const expected = { transactions: 10, declined };

describe('ledgerInvariantViolations', () => {
  it('given a sound run, then it reports nothing', () => {
    expect(ledgerInvariantViolations(integrity, trails, expected)).toEqual([]);
  });

  it('given a posting missing from the ledger, then the counters report it', () => {
    const lost = { ...integrity, postedTransactions: 7, decisionsWithoutEntries: 1 };
    expect(ledgerInvariantViolations(lost, trails, expected)).toEqual([
      'integrity.postedTransactions is 7, expected 8',
      'integrity.decisionsWithoutEntries is 1, expected 0',
    ]);
  });

  it('given a postable trail without entries, then it is reported', () => {
    const unposted = { ...trail('tx-r', 'REVIEW'), ledgerEntries: [] };
    expect(ledgerInvariantViolations(integrity, [trails[0]!, unposted, ...trails.slice(2)], expected)).toEqual([
      'tx-r: REVIEW but posted nothing',
    ]);
  });

  it('given an entry stored twice, then the trail check and the counter report it', () => {
    const approved = trail('tx-a', 'APPROVE');
    const doubled = { ...approved, ledgerEntries: [...approved.ledgerEntries, approved.ledgerEntries[1]!] };
    const counted = {
      ...integrity,
      entries: 17,
      duplicateEntries: 1,
      totalsByCurrency: [{ currency: 'EUR', sumMinor: '500' }],
    };
    expect(ledgerInvariantViolations(counted, [doubled, ...trails.slice(1)], expected)).toEqual([
      'integrity.duplicateEntries is 1, expected 0',
      "the ledger's EUR entries sum to 500, not 0",
      'tx-a: an entry is stored more than once',
      'tx-a: EUR legs sum to 500, not 0',
    ]);
  });

  it('given a declined trail with entries, then it is reported', () => {
    const posted = { ...trail('tx-d1', 'DECLINE'), ledgerEntries: trail('tx-d1', 'APPROVE').ledgerEntries };
    expect(ledgerInvariantViolations(integrity, [...trails.slice(0, 2), posted, trails[3]!], expected)).toEqual([
      'tx-d1: declined but posted 2 entries',
    ]);
  });

  it('given the outcome under a misnamed field (decision.decision), then it is reported, not skipped', () => {
    const { outcome: _outcome, ...rest } = trail('tx-d2', 'DECLINE').decision;
    const misnamed = {
      ...trail('tx-d2', 'DECLINE'),
      decision: { ...rest, decision: 'DECLINE' },
    } as unknown as AuditTrail;
    expect(ledgerInvariantViolations(integrity, [...trails.slice(0, 3), misnamed], expected)).toEqual([
      'tx-d2: decision.outcome is undefined, not APPROVE, REVIEW or DECLINE',
      'tx-d2: declined, but its audit trail was not checked',
    ]);
  });

  it('given a declined id whose trail was never fetched, then it is reported', () => {
    expect(ledgerInvariantViolations(integrity, trails.slice(0, 3), expected)).toEqual([
      'tx-d2: declined, but its audit trail was not checked',
    ]);
  });

  it('given an outcome the alert list disagrees with, then it is reported', () => {
    expect(
      ledgerInvariantViolations(integrity, trails, { transactions: 10, declined: new Set(['tx-d1', 'tx-d2', 'tx-a']) }),
    ).toEqual([
      'integrity.postableDecisions is 8, expected 7',
      'integrity.postedTransactions is 8, expected 7',
      'tx-a: outcome APPROVE disagrees with the alert list',
      'tx-a: declined, but its audit trail was not checked',
    ]);
  });
});

describe('webhookDeliveryViolations', () => {
  const expected = new Set(['tx-1', 'tx-2']);
  const ok = [
    { eventId: 'evt_1', subjectId: 'tx-1', verified: true },
    { eventId: 'evt_2', subjectId: 'tx-2', verified: true },
  ];

  it('holds for every subject delivered once, and for repeats under the same id', () => {
    expect(webhookDeliveryViolations(expected, ok)).toEqual({ violations: [], duplicates: 0 });
    expect(webhookDeliveryViolations(expected, [...ok, ok[0]!])).toEqual({ violations: [], duplicates: 1 });
  });

  it('catches a lost event, an unexpected one, a new id for a repeat, a shared id and a bad signature', () => {
    expect(webhookDeliveryViolations(expected, [ok[0]!]).violations).toEqual(['tx-2: never delivered']);
    expect(
      webhookDeliveryViolations(expected, [...ok, { eventId: 'evt_9', subjectId: 'tx-9', verified: true }]).violations,
    ).toEqual(['tx-9: delivered but not expected']);
    expect(
      webhookDeliveryViolations(expected, [...ok, { eventId: 'evt_1b', subjectId: 'tx-1', verified: true }]).violations,
    ).toEqual(['tx-1: delivered again as evt_1b, first as evt_1']);
    expect(
      webhookDeliveryViolations(expected, [ok[0]!, { eventId: 'evt_1', subjectId: 'tx-2', verified: true }]).violations,
    ).toEqual(['evt_1: carries tx-2 and tx-1']);
    expect(webhookDeliveryViolations(expected, [ok[0]!, { ...ok[1]!, verified: false }]).violations).toEqual([
      'evt_2: signature not verified',
    ]);
  });
});
