import type { Principal } from '../../platform/auth.js';
import type { AuditTrail } from '../../schemas/api.js';

/**
 * What each role may see of a transaction's audit trail (OWASP API3, excessive data exposure; PCI DSS 7.2 need to
 * know). Compliance and admin see everything recorded. An analyst triages alerts and needs the facts of the payment,
 * not the identifiers that link it to others: the card token (a stable surrogate for the PAN — with it, every
 * transaction of the card can be joined, and a detokenisation grant turns it back into the PAN) and ingest's content
 * fingerprint are nulled, wherever they appear (the view, the scored input, conflicting copies). The last four
 * digits stay: they are what a cardholder is asked to confirm.
 */
export function auditTrailFor(role: Principal['role'], trail: AuditTrail): AuditTrail {
  if (role !== 'analyst') return trail;
  const card = trail.transaction.card;
  return {
    ...trail,
    fingerprint: null,
    transaction: { ...trail.transaction, card: card === null ? null : { ...card, token: null } },
    input: withoutCardIdentifiers(trail.input),
    conflicts: trail.conflicts.map((c) => ({
      ...c,
      postedFingerprint: null,
      conflictingFingerprint: null,
      transaction: withoutCardIdentifiers(c.transaction),
    })),
  };
}

/** Keys nulled at any depth of a stored transaction (`card.token` is handled by its parent key). */
const hiddenKeys = new Set(['fingerprint', 'cardToken', 'card_token']);

/** A copy of stored JSON with card tokens and fingerprints nulled at any depth. */
export function withoutCardIdentifiers(value: unknown, parentKey = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutCardIdentifiers(v, parentKey));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) =>
      hiddenKeys.has(key) || (parentKey === 'card' && key === 'token')
        ? [key, null]
        : [key, withoutCardIdentifiers(v, key)],
    ),
  );
}

/**
 * A case's group key as `role` may see it: an analyst sees `card:[withheld]` for a case grouped by card (its token
 * is the identifier {@link auditTrailFor} withholds); a customer's key, and everything for other roles, as kept.
 */
export function caseGroupKeyFor(role: Principal['role'], groupKey: string): string {
  return role === 'analyst' && groupKey.startsWith('card:') ? 'card:[withheld]' : groupKey;
}
