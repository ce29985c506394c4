import express, { type Router } from 'express';
import { type ApiKeyAuthenticator, Role } from '../../platform/auth.js';
import { VigilError } from '../../platform/errors.js';
import { principalOf, problemDetailsMiddleware, requireRole, route } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import type { EmailNotifier } from '../app/email-notifier.js';
import { escapeHtml } from '../domain/email.js';

export interface EmailRouterOptions {
  /** Undefined when e-mail is off (no VIGIL_SMTP_URL): every route answers EMAIL_NOTIFICATIONS_OFF. */
  readonly email: EmailNotifier | undefined;
  readonly authenticator: ApiKeyAuthenticator;
  readonly logger: Logger;
}

/**
 * The e-mail notification API.
 *
 * Role `admin` only registers, lists and deletes subscriptions. API keys are per role, not per person, so an
 * `analyst` key cannot tell one analyst's address from another's: letting analysts register "their own" address
 * would let any holder of the shared key have alerts mailed anywhere. Recipients end their own subscription with
 * the link in every mail instead, which needs no key.
 *  - `POST /v1/notifications/email` `{ email, immediateDeclineAbove?: {value, currency} | null, digestEveryMs? }` → 201
 *  - `GET /v1/notifications/email` → `{ subscriptions }`; `GET /v1/notifications/email/{id}`; `DELETE …/{id}` → 204
 *  - `GET /v1/notifications/unsubscribe?token=` → an HTML page whose button POSTs to the same URL (a GET changes
 *    nothing: mail scanners and link previews fetch every link in a mail);
 *  - `POST /v1/notifications/unsubscribe?token=` → unsubscribes (the page's button, and RFC 8058 one-click with
 *    the body `List-Unsubscribe=One-Click`); no API key, the token is the authority.
 */
export function emailRouter({ email, authenticator, logger }: EmailRouterOptions): Router {
  const router = express.Router();
  const admin = requireRole(authenticator, Role.admin);
  const json = express.json({ limit: '4kb' });
  const form = express.urlencoded({ extended: false, limit: '1kb' });
  const on = (): EmailNotifier => {
    if (email === undefined)
      throw new VigilError('EMAIL_NOTIFICATIONS_OFF', 'e-mail notifications are off: VIGIL_SMTP_URL is not set');
    return email;
  };

  router.post(
    '/v1/notifications/email',
    admin,
    json,
    route(async (req, res) => {
      const created = await on().create(req.body);
      logger.info('admin: e-mail subscription created', { principal: principalOf(res).id, subscriptionId: created.id });
      res.status(201).json(created);
    }),
  );
  router.get('/v1/notifications/email', admin, (_req, res) => {
    res.json({ subscriptions: on().list() });
  });
  router.get('/v1/notifications/email/:id', admin, (req, res) => {
    res.json(on().get(String(req.params['id'])));
  });
  router.delete(
    '/v1/notifications/email/:id',
    admin,
    route(async (req, res) => {
      const id = String(req.params['id']);
      await on().remove(id);
      logger.info('admin: e-mail subscription deleted', { principal: principalOf(res).id, subscriptionId: id });
      res.status(204).end();
    }),
  );
  router.get('/v1/notifications/unsubscribe', (req, res) => {
    const token = req.query['token'];
    const subscription = on().subscriptionOfToken(token);
    // A valid token is a string (subscriptionOfToken refuses anything else).
    const action = `/v1/notifications/unsubscribe?token=${encodeURIComponent(token as string)}`;
    const body =
      subscription.status === 'active'
        ? `<p>Stop Vigil alert mails to ${escapeHtml(subscription.email)}?</p>` +
          `<form method="post" action="${escapeHtml(action)}"><button type="submit">Unsubscribe</button></form>`
        : `<p>${escapeHtml(subscription.email)} receives no Vigil alert mails (${escapeHtml(subscription.status)}).</p>`;
    sendPage(res, body);
  });
  router.post(
    '/v1/notifications/unsubscribe',
    form,
    route(async (req, res) => {
      const subscription = await on().unsubscribe(req.query['token']);
      sendPage(res, `<p>${escapeHtml(subscription.email)} is unsubscribed: Vigil sends it no more alert mails.</p>`);
    }),
  );
  router.use(problemDetailsMiddleware(logger));
  return router;
}

function sendPage(res: express.Response, body: string): void {
  res
    .status(200)
    .set('content-type', 'text/html; charset=utf-8')
    .set('cache-control', 'no-store')
    .set('referrer-policy', 'no-referrer')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>Vigil alert mails</title></head><body>${body}</body></html>`,
    );
}
