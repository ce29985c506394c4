/**
 * Webhook endpoints: what an admin registers, how it is kept on the outbox log, and how it is shown. Pure.
 */
import type { FieldProblem } from '../../platform/errors.js';
import {
  type WebhookEndpointRequest,
  type WebhookEndpointView,
  type WebhookEventType,
  webhookEventTypes,
} from '../../schemas/webhooks.js';
import { type AllowedTarget, targetUrlProblems } from './targets.js';

/** An endpoint as stored on `webhook.endpoints` (JSON). The secret is only ever stored sealed. */
export interface EndpointRecord {
  readonly id: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  readonly description: string | null;
  readonly status: 'enabled' | 'disabled';
  readonly disabledReason: 'gone' | 'failing' | null;
  readonly createdAtMs: number;
  readonly disabledAtMs: number | null;
  readonly sealedSecret: string;
}

const MAX_DESCRIPTION_CHARS = 200;

/**
 * The request as a typed value, or every problem with it by JSON pointer. Unknown fields are refused too: a
 * misspelt `event` must not silently register an endpoint that receives nothing.
 */
export function parseEndpointRequest(
  body: unknown,
  allowed: readonly AllowedTarget[],
): { request: WebhookEndpointRequest; problems: [] } | { request: undefined; problems: FieldProblem[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { request: undefined, problems: [{ path: '', message: 'must be a JSON object' }] };
  const fields = body as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  for (const key of Object.keys(fields))
    if (key !== 'url' && key !== 'events' && key !== 'description')
      problems.push({ path: `/${key}`, message: 'is not a field of a webhook endpoint (url, events, description)' });
  problems.push(...targetUrlProblems(fields['url'], allowed));
  const events = fields['events'];
  if (!Array.isArray(events) || events.length === 0) {
    problems.push({ path: '/events', message: `must be a non-empty array of ${webhookEventTypes.join(', ')}` });
  } else {
    events.forEach((type, i) => {
      if (!webhookEventTypes.includes(type as WebhookEventType))
        problems.push({ path: `/events/${i}`, message: `must be one of ${webhookEventTypes.join(', ')}` });
      else if (events.indexOf(type) !== i) problems.push({ path: `/events/${i}`, message: 'is listed twice' });
    });
  }
  const description = fields['description'];
  if (description !== undefined && (typeof description !== 'string' || description.length > MAX_DESCRIPTION_CHARS))
    problems.push({ path: '/description', message: `must be a string of at most ${MAX_DESCRIPTION_CHARS} characters` });
  if (problems.length > 0) return { request: undefined, problems };
  return {
    request: {
      url: fields['url'] as string,
      events: events as WebhookEventType[],
      ...(description === undefined ? {} : { description: description as string }),
    },
    problems: [],
  };
}

export function endpointView(record: EndpointRecord): WebhookEndpointView {
  return {
    id: record.id,
    url: record.url,
    events: record.events,
    description: record.description,
    status: record.status,
    disabledReason: record.disabledReason,
    createdAt: new Date(record.createdAtMs).toISOString(),
    disabledAt: record.disabledAtMs === null ? null : new Date(record.disabledAtMs).toISOString(),
  };
}

/** The record after the endpoint was disabled at `nowMs` for `reason`. */
export function disabled(record: EndpointRecord, reason: 'gone' | 'failing', nowMs: number): EndpointRecord {
  return { ...record, status: 'disabled', disabledReason: reason, disabledAtMs: nowMs };
}

/** The record after an admin re-enabled the endpoint. */
export function enabled(record: EndpointRecord): EndpointRecord {
  return { ...record, status: 'enabled', disabledReason: null, disabledAtMs: null };
}
