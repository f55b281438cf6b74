import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Serves the few static files in public/ from memory: a fixed list, so no path ever reaches the disk. */
export function assetRoutes(options: { root: string }): Router {
  const files = new Map(
    readdirSync(options.root)
      .filter((name) => TYPES[path.extname(name)])
      .map((name) => [name, { body: readFileSync(path.join(options.root, name)), type: TYPES[path.extname(name)]! }]),
  );
  const router = new Router();
  router.get('/assets/:name', (ctx) => {
    const file = files.get(ctx.params.name ?? '');
    if (!file) return;
    ctx.type = file.type;
    ctx.set('cache-control', 'public, max-age=3600');
    ctx.body = file.body;
  });
  return router;
}
