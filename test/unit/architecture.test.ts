import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Dependencies point one way: http → domain/factors → ports ← storage (STYLE.md "Shape").
 * These tests read the source files, so a violation fails here before review.
 */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

interface SourceFile {
  /** Path relative to src/, with forward slashes. */
  name: string;
  absolute: string;
  text: string;
}

function listSources(dir: string): SourceFile[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const absolute = path.join(dir, entry.name);
    if (entry.isDirectory()) return listSources(absolute);
    if (!entry.name.endsWith('.ts')) return [];
    return [{ name: path.relative(SRC, absolute).split(path.sep).join('/'), absolute, text: readFileSync(absolute, 'utf8') }];
  });
}

const sources = listSources(SRC);

/** Every module specifier of static imports, re-exports, side-effect imports and dynamic import(). */
function importsOf(text: string): string[] {
  const pattern = /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...text.matchAll(pattern)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** The npm package a bare specifier names (`@scope/name` or `name`), or null for relative and node: imports. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const FORBIDDEN_PACKAGES = [/^koa$/, /^koa-/, /^@koa\//, /^oidc-provider$/, /^kysely$/, /^pg$/, /^redis$/, /^@redis\//];
const FORBIDDEN_LAYERS = ['http/', 'storage/', 'oidc/'];

/** `file imports specifier` lines for every import that breaks the core's independence. */
function coreViolations(file: SourceFile): string[] {
  return importsOf(file.text).flatMap((specifier) => {
    const pkg = packageOf(specifier);
    if (pkg !== null) return FORBIDDEN_PACKAGES.some((p) => p.test(pkg)) ? [`${file.name} imports ${specifier}`] : [];
    if (!specifier.startsWith('.')) return [];
    const target = path.relative(SRC, path.resolve(path.dirname(file.absolute), specifier)).split(path.sep).join('/');
    return FORBIDDEN_LAYERS.some((layer) => target.startsWith(layer)) ? [`${file.name} imports ${specifier}`] : [];
  });
}

describe('architecture', () => {
  it('finds the source files it checks', () => {
    const names = sources.map((file) => file.name);
    expect(names).toContain('domain/accounts.ts');
    expect(names).toContain('ports/stores.ts');
    expect(names).toContain('config/load.ts');
  });

  it('recognizes every import form it checks', () => {
    const text = [
      "import { a } from 'koa';",
      "import type { B } from '../storage/sql/tables.ts';",
      "export { c } from '@koa/router';",
      "import 'pg';",
      "const d = await import('../oidc/provider.ts');",
      'import {\n  e,\n  f,\n} from "kysely";',
    ].join('\n');
    expect(importsOf(text)).toEqual(['koa', '../storage/sql/tables.ts', '@koa/router', 'pg', '../oidc/provider.ts', 'kysely']);
    const file = { name: 'domain/x.ts', absolute: path.join(SRC, 'domain/x.ts'), text };
    expect(coreViolations(file)).toHaveLength(6);
  });

  it('keeps domain/ and ports/ free of Koa, oidc-provider, SQL, Redis and the outer layers', () => {
    const core = sources.filter((file) => file.name.startsWith('domain/') || file.name.startsWith('ports/'));
    expect(core.length).toBeGreaterThan(5);
    expect(core.flatMap(coreViolations)).toEqual([]);
  });

  it('reads process.env only in config/', () => {
    const readers = sources
      .filter((file) => !file.name.startsWith('config/'))
      .filter((file) => /\bprocess\.env\s*(?:\.|\[|\?\.)/.test(file.text))
      .map((file) => file.name);
    expect(readers).toEqual([]);
  });

  it('keeps every source file within 400 lines', () => {
    const long = sources
      .map((file) => ({ name: file.name, lines: file.text.split('\n').length - (file.text.endsWith('\n') ? 1 : 0) }))
      .filter((file) => file.lines > 400)
      .map((file) => `${file.name}: ${file.lines} lines`);
    expect(long).toEqual([]);
  });
});
