import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ejs from 'ejs';
import type { Views } from '../ports/views.ts';

/**
 * EJS views with our own compiled-template cache (kept in this closure, not in a module global).
 * Templates get plain view models, never domain objects or the Koa context.
 */
export function createViews(options: { root: string; cache: boolean }): Views {
  const compiled = new Map<string, ejs.AsyncTemplateFunction>();

  async function template(name: string): Promise<ejs.AsyncTemplateFunction> {
    const cached = compiled.get(name);
    if (cached) return cached;
    if (!/^[a-z0-9/-]+$/.test(name)) throw new Error(`invalid view name ${name}`);
    const filename = path.join(options.root, `${name}.ejs`);
    const fn = ejs.compile(await readFile(filename, 'utf8'), { filename, async: true, strict: true, localsName: 'it' });
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
