import { Role } from '../../platform/auth.js';
import {
  type ApiDocumentPart,
  GUARDED,
  type JsonSchema,
  type OperationObject,
  type ParameterObject,
  PUBLIC,
  jsonBody,
  jsonResponse,
  problems,
  ref,
  rolesMayCall,
} from '../../platform/openapi.js';
import { webhookEventTypes } from '../../schemas/webhooks.js';

/**
 * The OpenAPI description of the notifier's routes (http/routes.ts, http/email-routes.ts), merged into
 * `/openapi.json` by startHttpServer. A route added to a router is documented here, once; the document's test
 * fails until it is.
 */

const admin = rolesMayCall(Role.admin);
const nullableStr = { type: ['string', 'null'] } as const;

/** The id of a webhook endpoint or an e-mail subscription, made by the server: examples take it from a link. */
const serverId = (example: string): ParameterObject => ({
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', minLength: 1, maxLength: 128 },
  example,
});

const op = (
  operationId: string,
  summary: string,
  responses: OperationObject['responses'],
  extra: Partial<OperationObject> & { readonly problems?: readonly number[] } = {},
): OperationObject => {
  const { problems: own = [], ...rest } = extra;
  return {
    operationId,
    summary,
    tags: ['notifications'],
    security: admin,
    ...rest,
    responses: { ...responses, ...problems(...own, ...GUARDED) },
  };
};

const schemas: Record<string, JsonSchema> = {
  WebhookEndpoint: {
    type: 'object',
    required: ['id', 'url', 'events', 'description', 'status', 'disabledReason', 'createdAt', 'disabledAt'],
    properties: {
      id: { type: 'string' },
      url: { type: 'string' },
      events: { type: 'array', items: { enum: webhookEventTypes } },
      description: nullableStr,
      status: { type: 'string' },
      disabledReason: { enum: ['gone', 'failing', null] },
      createdAt: { type: 'string', format: 'date-time' },
      disabledAt: nullableStr,
    },
  },
  EmailSubscription: {
    type: 'object',
    required: ['id', 'email', 'immediateDeclineAbove', 'digestEveryMs', 'status', 'createdAt', 'endedAt'],
    properties: {
      id: { type: 'string' },
      email: { type: 'string' },
      immediateDeclineAbove: { oneOf: [ref('Money'), { type: 'null' }] },
      digestEveryMs: { type: 'integer' },
      status: { type: 'string' },
      createdAt: { type: 'string', format: 'date-time' },
      endedAt: nullableStr,
    },
  },
};

const webhookLinks = Object.fromEntries(
  ['getWebhook', 'deleteWebhook', 'listWebhookDeliveries', 'replayWebhook', 'enableWebhook'].map((operationId) => [
    operationId,
    { operationId, parameters: { id: '$response.body#/id' } },
  ]),
);
const subscriptionLinks = Object.fromEntries(
  ['getEmailSubscription', 'deleteEmailSubscription'].map((operationId) => [
    operationId,
    { operationId, parameters: { id: '$response.body#/id' } },
  ]),
);

const unsubscribeToken: ParameterObject = {
  name: 'token',
  in: 'query',
  required: true,
  description: 'The signed token of the link in every alert mail: the authority, in place of a key (RFC 8058).',
  schema: { type: 'string', maxLength: 200 },
  example: 'subscription-id.signature',
};
const page = { description: 'A small HTML page', content: { 'text/html': { schema: { type: 'string' } } } };

export const notifierApi: ApiDocumentPart = {
  tags: { notifications: 'Signed webhooks to downstream systems and alert e-mails (admin).' },
  schemas,
  paths: {
    '/v1/webhooks': {
      post: op(
        'createWebhook',
        'Register a webhook endpoint; its signing secret is shown once',
        {
          '201': jsonResponse(
            'The endpoint and its secret',
            { allOf: [ref('WebhookEndpoint'), { type: 'object', required: ['secret'] }] },
            { links: webhookLinks },
          ),
        },
        {
          description:
            'Only public https addresses are reached unless VIGIL_WEBHOOK_ALLOWED_TARGETS names the host and port.',
          requestBody: jsonBody(
            {
              type: 'object',
              required: ['url', 'events'],
              additionalProperties: false,
              properties: {
                url: { type: 'string' },
                events: { type: 'array', minItems: 1, items: { enum: webhookEventTypes } },
                description: { type: 'string' },
              },
            },
            { url: 'https://hooks.bank.example/vigil', events: ['alert.raised'], description: 'case management' },
          ),
          problems: [400, 413],
        },
      ),
      get: op('listWebhooks', 'Every webhook endpoint', {
        '200': jsonResponse('The endpoints', {
          type: 'object',
          required: ['endpoints'],
          properties: { endpoints: { type: 'array', items: ref('WebhookEndpoint') } },
        }),
      }),
    },
    '/v1/webhooks/{id}': {
      get: op(
        'getWebhook',
        'One webhook endpoint',
        { '200': jsonResponse('The endpoint', ref('WebhookEndpoint')) },
        { parameters: [serverId('wh_example')], problems: [404] },
      ),
      delete: op(
        'deleteWebhook',
        'Delete a webhook endpoint',
        { '204': { description: 'Deleted' } },
        { parameters: [serverId('wh_example')], problems: [404] },
      ),
    },
    '/v1/webhooks/{id}/deliveries': {
      get: op(
        'listWebhookDeliveries',
        'Delivery attempts to an endpoint, newest first',
        {
          '200': jsonResponse('The attempts', {
            type: 'object',
            required: ['deliveries'],
            properties: {
              deliveries: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['eventId', 'eventType', 'attempt', 'outcome', 'attemptedAt'],
                  properties: { outcome: { enum: ['delivered', 'failed', 'gone', 'expired'] } },
                },
              },
            },
          }),
        },
        {
          parameters: [
            serverId('wh_example'),
            {
              name: 'limit',
              in: 'query',
              description: 'At most this many (default 100)',
              schema: { type: 'integer', minimum: 1, maximum: 500 },
              example: 20,
            },
          ],
          problems: [400, 404],
        },
      ),
    },
    '/v1/webhooks/{id}/replay': {
      post: op(
        'replayWebhook',
        'Re-send the events of a time range to an endpoint',
        {
          '202': jsonResponse('Queued', {
            type: 'object',
            required: ['endpointId', 'events'],
            properties: { endpointId: { type: 'string' }, events: { type: 'integer', minimum: 0 } },
          }),
        },
        {
          parameters: [serverId('wh_example')],
          requestBody: jsonBody(
            {
              type: 'object',
              required: ['from', 'to'],
              properties: {
                from: { type: 'string', format: 'date-time' },
                to: { type: 'string', format: 'date-time' },
              },
            },
            { from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' },
          ),
          problems: [400, 404, 413],
        },
      ),
    },
    '/v1/webhooks/{id}/enable': {
      post: op(
        'enableWebhook',
        'Resume a disabled endpoint from its cursor',
        { '200': jsonResponse('The endpoint', ref('WebhookEndpoint')) },
        { parameters: [serverId('wh_example')], problems: [404] },
      ),
    },
    '/v1/notifications/email': {
      post: op(
        'createEmailSubscription',
        'Mail alerts to an address: declines above an amount at once, the rest in a digest',
        { '201': jsonResponse('The subscription', ref('EmailSubscription'), { links: subscriptionLinks }) },
        {
          description: '409 EMAIL_NOTIFICATIONS_OFF on every e-mail route while VIGIL_SMTP_URL is not set.',
          requestBody: jsonBody(
            {
              type: 'object',
              required: ['email'],
              additionalProperties: false,
              properties: {
                email: { type: 'string' },
                immediateDeclineAbove: { oneOf: [ref('Money'), { type: 'null' }] },
                digestEveryMs: { type: 'integer' },
              },
            },
            { email: 'fraud-desk@bank.example', immediateDeclineAbove: { value: '1000.00', currency: 'EUR' } },
          ),
          problems: [400, 409, 413],
        },
      ),
      get: op(
        'listEmailSubscriptions',
        'Every e-mail subscription',
        {
          '200': jsonResponse('The subscriptions', {
            type: 'object',
            required: ['subscriptions'],
            properties: { subscriptions: { type: 'array', items: ref('EmailSubscription') } },
          }),
        },
        { problems: [409] },
      ),
    },
    '/v1/notifications/email/{id}': {
      get: op(
        'getEmailSubscription',
        'One e-mail subscription',
        { '200': jsonResponse('The subscription', ref('EmailSubscription')) },
        { parameters: [serverId('sub_example')], problems: [404, 409] },
      ),
      delete: op(
        'deleteEmailSubscription',
        'Delete an e-mail subscription',
        { '204': { description: 'Deleted' } },
        { parameters: [serverId('sub_example')], problems: [404, 409] },
      ),
    },
    '/v1/notifications/unsubscribe': {
      get: {
        operationId: 'showUnsubscribe',
        summary: 'The unsubscribe page of a mail’s link: a button that POSTs to the same URL',
        description: 'A GET changes nothing: mail scanners and link previews fetch every link in a mail.',
        tags: ['notifications'],
        security: PUBLIC,
        parameters: [unsubscribeToken],
        responses: { '200': page, ...problems(404, 409, 429) },
      },
      post: {
        operationId: 'unsubscribe',
        summary: 'End the subscription the token names (the page’s button, or RFC 8058 one-click)',
        tags: ['notifications'],
        security: PUBLIC,
        parameters: [unsubscribeToken],
        requestBody: {
          required: false,
          content: {
            'application/x-www-form-urlencoded': {
              schema: { type: 'object', properties: { 'List-Unsubscribe': { const: 'One-Click' } } },
              example: 'List-Unsubscribe=One-Click',
            },
          },
        },
        responses: { '200': page, ...problems(404, 409, 429) },
      },
    },
  },
};
