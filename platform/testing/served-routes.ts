import type { Server } from 'node:http';

interface Layer {
  readonly route?: { readonly path: string | string[]; readonly methods: Record<string, boolean> };
  readonly handle: { readonly stack?: Layer[] };
  readonly rawPath?: unknown;
}

/** Every `METHOD path` in an express router stack, nested routers included (mounted paths prefixed). */
function routesOf(stack: readonly Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      const methods = Object.keys(layer.route.methods).filter((m) => m !== '_all');
      return methods.flatMap((m) => paths.map((p) => `${m.toUpperCase()} ${prefix}${p}`));
    }
    if (layer.handle.stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      return routesOf(layer.handle.stack, prefix + mount);
    }
    return [];
  });
}

/**
 * The routes an HTTP server's express app answers, as `METHOD /path/:param`, read from express's own router stack
 * behind the server's request listener, so a route cannot be added without being seen. Sorted, each once.
 */
export function servedRoutes(server: Server): string[] {
  const app = server.listeners('request')[0] as unknown as { router: { stack: Layer[] } };
  return [...new Set(routesOf(app.router.stack))].sort();
}
