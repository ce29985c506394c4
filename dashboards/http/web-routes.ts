import { fileURLToPath } from 'node:url';
import express, { type Request, type Response } from 'express';
import { currencyExponents } from '../../schemas/currencies.js';

const webDir = fileURLToPath(new URL('../web/', import.meta.url));

/** The page is static and holds no data, so the browser can load it without a key; it asks for one. */
const securityHeaders = (_req: Request, res: Response, next: () => void): void => {
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'",
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
};

/** The web console: `/`, `/index.html` and `/assets/*`, with strict security headers and no key. */
export function webRoutes(): express.Router {
  const router = express.Router();
  router.get(['/', '/index.html'], securityHeaders, (_req, res) => res.sendFile('index.html', { root: webDir }));
  // The page's ISO 4217 minor-unit table, served from the one table in schemas/ (static data, no key).
  router.get('/assets/currencies.json', securityHeaders, (_req, res) => res.json(currencyExponents));
  router.use('/assets', securityHeaders, express.static(webDir, { index: false }));
  return router;
}
