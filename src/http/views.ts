import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ejs from 'ejs';
import type { Views } from '../ports/views.ts';

/**
 * EJS views with our own compiled-template cache (kept in this closure, not in a module global);
 * the partials they include are compiled once as well, in EJS's cache (keyed by file name).
 * Templates get plain view models, never domain objects or the Koa context. A view is looked up
 * in each root in turn (the project's views/, then any added for extra factors), and absolute
 * includes (`/factors/<kind>/verify`) resolve the same way.
 */
export function createViews(options: { roots: string[]; cache: boolean }): Views {
  const compiled = new Map<string, ejs.AsyncTemplateFunction>();

  async function template(name: string): Promise<ejs.AsyncTemplateFunction> {
    const cached = compiled.get(name);
    if (cached) return cached;
    if (!/^[a-z0-9/-]+$/.test(name)) throw new Error(`invalid view name ${name}`);
    const filename = options.roots.map((root) => path.join(root, `${name}.ejs`)).find((file) => existsSync(file));
    if (!filename) throw new Error(`no view ${name}`);
    const fn = ejs.compile(await readFile(filename, 'utf8'), {
      filename,
      root: options.roots,
      async: true,
      strict: true,
      localsName: 'it',
      // Without it EJS reads and compiles every included partial again on each render.
      cache: options.cache,
    });
    if (options.cache) compiled.set(name, fn);
    return fn;
  }

  return {
    async render(name, model) {
      const body = await (await template(name))(model);
      return (await template('layout'))({ ...model, body });
    },
  };
}
