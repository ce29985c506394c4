import { createHash } from 'node:crypto';
import express, { type Request, type RequestHandler, type Router } from 'express';
import { ValidationError } from '../../platform/errors.js';
import { principalOf, route } from '../../platform/http.js';
import type { ChannelIntake } from '../app/channel-intake.js';
import type { ChannelParse } from '../domain/channels/channel.js';

/** What a channel route needs besides its parser. */
export interface ChannelRouteOptions {
  readonly intake: ChannelIntake;
  /** Authentication and role check; runs before the body is read. */
  readonly guard: RequestHandler;
  readonly countRequests: RequestHandler;
  /** Largest file accepted, bytes; larger → 413 BODY_TOO_LARGE. */
  readonly maxFileBytes: number;
}

/**
 * Mounts one channel route: `POST <path>` reads the raw file (any content type: the route, not the header, says what
 * the file is), parses it with `parse` (pure: bytes → items with their locations; the request only for its options,
 * e.g. a header naming the file) and hands it to the intake. 200
 * with a ChannelFileResponse for every readable file — each item accepted, duplicate, rejected or conflict on its
 * own, in the batch shape; 400 CHANNEL_FILE_REFUSED with the problems' locations when the file as a whole cannot
 * be read; 409 CHANNEL_FILE_CONFLICT for a message id received before with other bytes; 413 above the size limit.
 */
export function mountChannelRoute(
  router: Router,
  path: string,
  parse: (bytes: Buffer, req: Request) => ChannelParse,
  options: ChannelRouteOptions,
): void {
  router.post(
    path,
    options.countRequests,
    options.guard,
    express.raw({ type: () => true, limit: options.maxFileBytes }),
    route(async (req, res) => {
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const parsed = parse(bytes, req);
      if (!parsed.ok) throw new ValidationError('the file could not be read', parsed.problems, 'CHANNEL_FILE_REFUSED');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      res.status(200).json(await options.intake.receive(parsed.document, sha256, principalOf(res).id));
    }),
  );
}
