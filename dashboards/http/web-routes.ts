import { fileURLToPath } from 'node:url';
import express, { type Request, type Response } from 'express';
import { currencyExponents } from '../../schemas/currencies.js';
import type { ConsoleSignIn } from '../config.js';

const webDir = fileURLToPath(new URL('../web/', import.meta.url));
/** The console's bundle, built from dashboards/console/src by `npm install` / `npm start` (dashboards/console/build.ts). */
const bundleDir = fileURLToPath(new URL('../console/dist/', import.meta.url));

/**
 * The page is static and holds no data, so the browser can load it without a key; it signs the person in. The page
 * may connect to its own origin and, for discovery and the token exchange, to the OpenID provider's.
 */
const securityHeadersFor = (signIn: ConsoleSignIn | undefined) => {
  const provider = signIn === undefined ? '' : ` ${new URL(signIn.issuer).origin}`;
  const policy = `default-src 'self'; connect-src 'self' ws: wss:${provider}; img-src 'self' data:; frame-ancestors 'none'`;
  return (_req: Request, res: Response, next: () => void): void => {
    res.setHeader('Content-Security-Policy', policy);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  };
};

/**
 * The web console: `/`, `/index.html` and `/assets/*` (the static page and style from dashboards/web, the built bundle
 * from dashboards/console/dist), with strict security headers and no key.
 */
export function webRoutes(signIn: ConsoleSignIn | undefined): express.Router {
  const securityHeaders = securityHeadersFor(signIn);
  const router = express.Router();
  // Where the page signs people in (null: it asks for an API key instead). Public: an issuer URL and a client id.
  router.get('/assets/sign-in.json', securityHeaders, (_req, res) => res.json(signIn ?? null));
  router.get(['/', '/index.html'], securityHeaders, (_req, res) => res.sendFile('index.html', { root: webDir }));
  // The page's ISO 4217 minor-unit table, served from the one table in schemas/ (static data, no key).
  router.get('/assets/currencies.json', securityHeaders, (_req, res) => res.json(currencyExponents));
  router.use('/assets', securityHeaders, express.static(webDir, { index: false }));
  router.use('/assets', securityHeaders, express.static(bundleDir, { index: false }));
  return router;
}
