/**
 * E-mail notifications, the pure part: what an admin registers, which alert is mailed at once and which waits
 * for the digest, what a mail says, and what an SMTP answer means for the mail. No I/O: the app layer reads the
 * outbox, signs the unsubscribe links, derives Message-IDs and talks SMTP.
 *
 * A mail leaves Vigil's access control (mail servers, phones, forwarding rules), so it carries only what an
 * analyst sees on the console and no more: decision, amount, score, reason codes and texts, transaction and
 * alert ids, channel, card last 4, merchant id, country. Never the card token, the payer's or payee's account
 * id (an IBAN in many banks) or any free text a customer typed; every text is passed through the PAN masker, and
 * the finished mail through the PAN detector (a mail that still carries one is refused, not sent).
 */
import type { FieldProblem } from '../../platform/errors.js';
import { containsPan, maskPans } from '../../platform/pan.js';
import type { MoneyRequest } from '../../schemas/api.js';
import { currencyExponent, decimalToMinorUnits, formatMinorUnits } from '../../schemas/currencies.js';
import type { Decision, FraudAlert } from '../../schemas/generated/types.js';
import type {
  EmailSubscriptionRequest,
  EmailSubscriptionStatus,
  EmailSubscriptionView,
} from '../../schemas/notifications.js';

/** A subscription as stored on `email.subscriptions` (JSON; the threshold in minor units as a decimal string). */
export interface EmailSubscriptionRecord {
  readonly id: string;
  readonly email: string;
  readonly immediateDeclineAbove: { readonly minor: string; readonly currency: string } | null;
  readonly digestEveryMs: number;
  readonly status: EmailSubscriptionStatus;
  readonly createdAtMs: number;
  readonly endedAtMs: number | null;
}

/** An alert as kept on `email.alerts`: only what a mail may show (see the module comment). */
export interface EmailAlert {
  readonly alertId: string;
  readonly transactionId: string;
  readonly decision: Decision;
  readonly score: number;
  readonly reasons: ReadonlyArray<{ readonly code: string; readonly description: string }>;
  readonly channel: string;
  /** Minor units, decimal string (JSON has no bigint). */
  readonly amountMinor: string;
  readonly currency: string;
  readonly cardLast4: string | null;
  readonly merchantId: string | null;
  readonly country: string | null;
  readonly raisedAtMs: number;
}

export interface SubscriptionLimits {
  readonly minDigestEveryMs: number;
  readonly maxDigestEveryMs: number;
  readonly defaultDigestEveryMs: number;
  /** Lower-case domains recipients must be at; empty = any domain. */
  readonly allowedDomains: readonly string[];
}

const MAX_EMAIL_CHARS = 254;
const MAX_LOCAL_CHARS = 64;
/** RFC 5321 dot-atom local part (no quoted strings) and a DNS name of at least two labels. */
const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domainName = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/**
 * The address with its domain in lower case, or the problem with it. Deliberately narrower than RFC 5322 (no
 * quoted local parts, comments, IP literals or non-ASCII): an address that some relay would read differently is
 * worse than one refused at registration.
 */
export function normaliseEmail(
  value: unknown,
  allowedDomains: readonly string[],
): { email: string } | { problem: string } {
  if (typeof value !== 'string') return { problem: 'must be an e-mail address string' };
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  const domain = value.slice(at + 1).toLowerCase();
  if (
    value.length > MAX_EMAIL_CHARS ||
    at < 1 ||
    local.length > MAX_LOCAL_CHARS ||
    !localPart.test(local) ||
    !domainName.test(domain)
  )
    return { problem: 'must be an e-mail address local@domain.tld (ASCII, no quoted parts, at most 254 characters)' };
  if (allowedDomains.length > 0 && !allowedDomains.includes(domain))
    return { problem: `domain ${domain} is not on VIGIL_SMTP_ALLOWED_DOMAINS (${allowedDomains.join(', ')})` };
  return { email: `${local}@${domain}` };
}

/**
 * The request as a typed value, or every problem with it by JSON pointer. Unknown fields are refused: a
 * misspelt threshold must not silently register a subscription that mails nothing at once.
 */
export function parseEmailSubscriptionRequest(
  body: unknown,
  limits: SubscriptionLimits,
):
  | { request: Pick<EmailSubscriptionRecord, 'email' | 'immediateDeclineAbove' | 'digestEveryMs'>; problems: [] }
  | { request: undefined; problems: FieldProblem[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { request: undefined, problems: [{ path: '', message: 'must be a JSON object' }] };
  const fields = body as Partial<Record<keyof EmailSubscriptionRequest, unknown>> & Record<string, unknown>;
  const problems: FieldProblem[] = [];
  for (const key of Object.keys(fields))
    if (key !== 'email' && key !== 'immediateDeclineAbove' && key !== 'digestEveryMs')
      problems.push({
        path: `/${key}`,
        message: 'is not a field of an e-mail subscription (email, immediateDeclineAbove, digestEveryMs)',
      });
  const email = normaliseEmail(fields.email, limits.allowedDomains);
  if ('problem' in email) problems.push({ path: '/email', message: email.problem });
  const threshold = parseThreshold(fields.immediateDeclineAbove, problems);
  const every = fields.digestEveryMs ?? limits.defaultDigestEveryMs;
  if (
    !Number.isSafeInteger(every) ||
    (every as number) < limits.minDigestEveryMs ||
    (every as number) > limits.maxDigestEveryMs
  )
    problems.push({
      path: '/digestEveryMs',
      message: `must be an integer number of milliseconds in [${limits.minDigestEveryMs}, ${limits.maxDigestEveryMs}]`,
    });
  if (problems.length > 0 || 'problem' in email) return { request: undefined, problems };
  return {
    request: { email: email.email, immediateDeclineAbove: threshold, digestEveryMs: every as number },
    problems: [],
  };
}

function parseThreshold(value: unknown, problems: FieldProblem[]): EmailSubscriptionRecord['immediateDeclineAbove'] {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push({ path: '/immediateDeclineAbove', message: 'must be { value, currency } or null' });
    return null;
  }
  const { value: amount, currency, ...rest } = value as Record<string, unknown>;
  for (const key of Object.keys(rest))
    problems.push({ path: `/immediateDeclineAbove/${key}`, message: 'is not a field of an amount (value, currency)' });
  const exponent = typeof currency === 'string' ? currencyExponent(currency) : undefined;
  if (exponent === undefined) {
    problems.push({ path: '/immediateDeclineAbove/currency', message: 'must be an ISO 4217 code such as "EUR"' });
    return null;
  }
  const minor = typeof amount === 'string' ? decimalToMinorUnits(amount, exponent) : undefined;
  if (minor === undefined) {
    problems.push({
      path: '/immediateDeclineAbove/value',
      message: `must be a decimal string such as "500.00" with at most ${exponent} fraction digits`,
    });
    return null;
  }
  return { minor: minor.toString(), currency: currency as string };
}

export function emailSubscriptionView(record: EmailSubscriptionRecord): EmailSubscriptionView {
  const threshold = record.immediateDeclineAbove;
  return {
    id: record.id,
    email: record.email,
    immediateDeclineAbove: threshold === null ? null : money(BigInt(threshold.minor), threshold.currency),
    digestEveryMs: record.digestEveryMs,
    status: record.status,
    createdAt: new Date(record.createdAtMs).toISOString(),
    endedAt: record.endedAtMs === null ? null : new Date(record.endedAtMs).toISOString(),
  };
}

/** The record after it stopped being active at `nowMs`. */
export function ended(
  record: EmailSubscriptionRecord,
  status: Exclude<EmailSubscriptionStatus, 'active'>,
  nowMs: number,
): EmailSubscriptionRecord {
  return { ...record, status, endedAtMs: nowMs };
}

/** What of an alert may be mailed, every text PAN-masked (a reason text quotes what a rule saw). */
export function toEmailAlert(alert: FraudAlert): EmailAlert {
  const text = (s: string): string => maskPans(s);
  return {
    alertId: text(alert.alertId),
    transactionId: text(alert.transactionId),
    decision: alert.decision,
    score: alert.score,
    reasons: alert.reasons.map((r) => ({ code: text(r.code), description: text(r.description) })),
    channel: alert.channel,
    amountMinor: alert.amountMinor.toString(),
    currency: alert.currency,
    cardLast4: alert.cardLast4 !== null && /^[0-9]{4}$/.test(alert.cardLast4) ? alert.cardLast4 : null,
    merchantId: alert.merchantId === null ? null : text(alert.merchantId),
    country: alert.country,
    raisedAtMs: alert.raisedAtMs,
  };
}

/**
 * True when the alert is mailed at once: a DECLINE in the threshold's currency strictly above it. A DECLINE in
 * another currency goes into the digest — amounts in different currencies are not compared (the notifier has no
 * rates, and a rate of the day would make the same alert immediate one day and not the next).
 */
export function isImmediate(subscription: EmailSubscriptionRecord, alert: EmailAlert): boolean {
  const threshold = subscription.immediateDeclineAbove;
  return (
    threshold !== null &&
    alert.decision === 'DECLINE' &&
    alert.currency === threshold.currency &&
    BigInt(alert.amountMinor) > BigInt(threshold.minor)
  );
}

/**
 * A subscription's digest in the making: the first `maxAlerts` alerts in order, and a count of the rest (a
 * digest lists at most that many and says how many more there were, so memory and mail size stay bounded
 * whatever the alert rate). `throughOffset` is the last `email.alerts` offset it covers.
 */
export interface Digest {
  readonly alerts: readonly EmailAlert[];
  readonly notListed: number;
  readonly throughOffset: number;
}

export const emptyDigest: Digest = { alerts: [], notListed: 0, throughOffset: -1 };

/** The digest with `alert` (read at `offset`) added. */
export function addToDigest(digest: Digest, alert: EmailAlert, offset: number, maxAlerts: number): Digest {
  return digest.alerts.length < maxAlerts
    ? { alerts: [...digest.alerts, alert], notListed: digest.notListed, throughOffset: offset }
    : { alerts: digest.alerts, notListed: digest.notListed + 1, throughOffset: offset };
}

export function digestSize(digest: Digest): number {
  return digest.alerts.length + digest.notListed;
}

/** A rendered mail, before addressing. */
export interface MailContent {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Where a mail's links point. */
export interface MailLinks {
  /** The console, for the analyst to open the alert. */
  readonly consoleUrl: string;
  /** This subscription's unsubscribe link (carries its unguessable token). */
  readonly unsubscribeUrl: string;
}

function money(minor: bigint, currency: string): MoneyRequest {
  return { value: formatMinorUnits(minor, currency), currency };
}

function amountText(alert: EmailAlert): string {
  return `${formatMinorUnits(BigInt(alert.amountMinor), alert.currency)} ${alert.currency}`;
}

function alertLines(alert: EmailAlert): string[] {
  return [
    `${alert.decision} ${amountText(alert)} — score ${alert.score.toFixed(3)} — ${alert.channel}`,
    `  transaction ${alert.transactionId}, alert ${alert.alertId}, raised ${new Date(alert.raisedAtMs).toISOString()}`,
    `  card ${alert.cardLast4 === null ? '—' : `•••• ${alert.cardLast4}`}, merchant ${alert.merchantId ?? '—'}, country ${alert.country ?? '—'}`,
    ...alert.reasons.map((r) => `  ${r.code}: ${r.description}`),
  ];
}

/** HTML text escaping (the five characters with meaning in text and attribute values). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function alertHtml(alert: EmailAlert): string {
  const reasons = alert.reasons.map((r) => `<li><code>${escapeHtml(r.code)}</code> ${escapeHtml(r.description)}</li>`);
  return [
    `<h3>${escapeHtml(`${alert.decision} ${amountText(alert)}`)}</h3>`,
    '<table>',
    ...(
      [
        ['Transaction', alert.transactionId],
        ['Alert', alert.alertId],
        ['Score', alert.score.toFixed(3)],
        ['Channel', alert.channel],
        ['Card', alert.cardLast4 === null ? '—' : `•••• ${alert.cardLast4}`],
        ['Merchant', alert.merchantId ?? '—'],
        ['Country', alert.country ?? '—'],
        ['Raised', new Date(alert.raisedAtMs).toISOString()],
      ] as const
    ).map(([name, value]) => `<tr><th align="left">${name}</th><td>${escapeHtml(value)}</td></tr>`),
    '</table>',
    reasons.length === 0 ? '' : `<ul>${reasons.join('')}</ul>`,
  ].join('\n');
}

function footer(links: MailLinks): { text: string[]; html: string } {
  return {
    text: ['', `Open the console: ${links.consoleUrl}`, `Unsubscribe: ${links.unsubscribeUrl}`],
    html:
      `<p><a href="${escapeHtml(links.consoleUrl)}">Open the console</a></p>` +
      `<p style="font-size:small"><a href="${escapeHtml(links.unsubscribeUrl)}">Unsubscribe</a> from Vigil alert mails.</p>`,
  };
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>\n${body}\n</body></html>`;
}

/** The mail for one alert sent at once. */
export function immediateMail(alert: EmailAlert, links: MailLinks): MailContent {
  const subject = `[Vigil] ${alert.decision} ${amountText(alert)} — transaction ${alert.transactionId}`;
  const end = footer(links);
  return {
    subject,
    text: [...alertLines(alert), ...end.text].join('\n') + '\n',
    html: page(subject, `${alertHtml(alert)}\n${end.html}`),
  };
}

/** The digest mail: every listed alert, and how many more were not listed. */
export function digestMail(digest: Digest, links: MailLinks): MailContent {
  const total = digestSize(digest);
  const subject = `[Vigil] ${total} alert${total === 1 ? '' : 's'} since the last digest`;
  const more =
    digest.notListed === 0
      ? []
      : [`… and ${digest.notListed} more alert${digest.notListed === 1 ? '' : 's'} not listed here: see the console.`];
  const end = footer(links);
  return {
    subject,
    text: [...digest.alerts.flatMap((a) => [...alertLines(a), '']), ...more, ...end.text].join('\n') + '\n',
    html: page(
      subject,
      [...digest.alerts.map(alertHtml), ...more.map((m) => `<p>${escapeHtml(m)}</p>`), end.html].join('\n'),
    ),
  };
}

/** True when any part of a mail carries a card number (the last check before sending; such a mail is refused). */
export function mailCarriesPan(mail: MailContent): boolean {
  return containsPan(mail.subject) || containsPan(mail.text) || containsPan(mail.html);
}

/** What the mail server did with one attempt, as the transport saw it. */
export type SmtpResult =
  | { readonly kind: 'accepted' }
  /** A reply code (RFC 5321 §4.2.1) to the message or one of its commands. */
  | { readonly kind: 'reply'; readonly code: number; readonly message: string }
  /** No reply: refused or lost connection, timeout, TLS or authentication trouble. */
  | { readonly kind: 'error'; readonly message: string };

/**
 * `sent` on acceptance; `refused` for a 5xx reply (permanent: RFC 5321 says do not repeat the same request);
 * `deferred` for a 4xx reply and for no reply at all (the relay is down, or Vigil's credentials are wrong —
 * neither is the recipient's fault, so neither counts against the address).
 */
export function smtpOutcome(result: SmtpResult): 'sent' | 'deferred' | 'refused' {
  if (result.kind === 'accepted') return 'sent';
  if (result.kind === 'reply' && result.code >= 500 && result.code < 600) return 'refused';
  return 'deferred';
}
