import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Dependencies point one way: http → domain/factors → ports ← storage (DESIGN.md §2), and only the
 * composition root (main.ts, app.ts, server.ts) sees every layer. These tests read the source files,
 * so a violation fails here before review.
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
    return [
      { name: path.relative(SRC, absolute).split(path.sep).join('/'), absolute, text: readFileSync(absolute, 'utf8') },
    ];
  });
}

const sources = listSources(SRC);

interface Import {
  specifier: string;
  /** `import type` / `export type`: erased before run time, so it loads nothing. */
  typeOnly: boolean;
}

/** Every module specifier of static imports, re-exports, side-effect imports and dynamic import(). */
function importsOf(text: string): Import[] {
  const pattern =
    /\b(?:import|export)\s+(type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...text.matchAll(pattern)].map((m) => ({ specifier: (m[2] ?? m[3] ?? m[4])!, typeOnly: m[1] !== undefined }));
}

/** The npm package a bare specifier names (`@scope/name` or `name`), or null for relative and node: imports. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The src-relative name a relative import of `file` resolves to (`../x` when it leaves src/). */
function targetOf(file: SourceFile, specifier: string): string {
  return path
    .relative(SRC, path.resolve(path.dirname(file.absolute), specifier))
    .split(path.sep)
    .join('/');
}

const LAYERS = [
  'cli',
  'config',
  'delivery',
  'domain',
  'factors',
  'http',
  'oidc',
  'ports',
  'security',
  'storage',
  'compose',
  'main.ts',
  'app.ts',
  'server.ts',
  'logger.ts',
] as const;
type Layer = (typeof LAYERS)[number];

/** A folder under src/ is a layer; a file at the root of src/ is a layer of its own. */
function layerOf(name: string): Layer | null {
  const layer = name.includes('/') ? name.slice(0, name.indexOf('/')) : name;
  return (LAYERS as readonly string[]).includes(layer) ? (layer as Layer) : null;
}

/** Which other layers each layer may import; a layer may always import itself. */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  ports: [],
  security: ['ports'],
  delivery: ['ports'],
  config: ['ports'],
  storage: ['ports', 'config'],
  domain: ['ports', 'factors'],
  factors: ['ports', 'domain'],
  oidc: ['ports', 'domain', 'factors', 'config'],
  http: ['ports', 'domain', 'factors', 'oidc', 'config'],
  cli: ['app.ts', 'server.ts', 'logger.ts', 'config', 'domain', 'ports'],
  // The composition root builds everything, so it sees everything.
  compose: LAYERS,
  'main.ts': LAYERS,
  'app.ts': LAYERS,
  'server.ts': LAYERS,
  'logger.ts': [],
};

/** Allowed edges that must be `import type`: storage reads the shape of its settings, never loads config. */
const TYPE_ONLY: Partial<Record<Layer, readonly Layer[]>> = { storage: ['config'] };

/** `file imports target` lines for every relative import the table does not allow. */
function layerViolations(file: SourceFile): string[] {
  const from = layerOf(file.name);
  return importsOf(file.text).flatMap(({ specifier, typeOnly }) => {
    if (!specifier.startsWith('.')) return [];
    const target = targetOf(file, specifier);
    const to = layerOf(target);
    if (from === null || to === null) return [`${file.name} imports ${target} (outside the layer table)`];
    if (from === to) return [];
    if (!ALLOWED[from].includes(to)) return [`${file.name} imports ${target}`];
    if (TYPE_ONLY[from]?.includes(to) && !typeOnly)
      return [`${file.name} imports ${target} (only \`import type\` is allowed)`];
    return [];
  });
}

/** The core stays plain TypeScript: no web framework, protocol library, SQL or Redis client. */
const CORE_LAYERS: readonly Layer[] = ['domain', 'ports', 'factors'];
const FORBIDDEN_PACKAGES = [/^koa$/, /^koa-/, /^@koa\//, /^oidc-provider$/, /^kysely$/, /^pg$/, /^redis$/, /^@redis\//];

function packageViolations(file: SourceFile): string[] {
  return importsOf(file.text)
    .map(({ specifier }) => specifier)
    .filter((specifier) => {
      const pkg = packageOf(specifier);
      return pkg !== null && FORBIDDEN_PACKAGES.some((p) => p.test(pkg));
    })
    .map((specifier) => `${file.name} imports ${specifier}`);
}

/** Each file's relative imports (type-only ones too) that name another source file. */
function importGraph(files: SourceFile[]): Map<string, string[]> {
  const names = new Set(files.map((file) => file.name));
  return new Map(
    files.map((file) => [
      file.name,
      importsOf(file.text)
        .filter(({ specifier }) => specifier.startsWith('.'))
        .map(({ specifier }) => targetOf(file, specifier))
        .filter((target) => names.has(target)),
    ]),
  );
}

/** Cycles found by a depth-first search, each as `a.ts → b.ts → a.ts` starting at its smallest name. */
function findCycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles = new Set<string>();
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        const loop = stack.slice(stack.indexOf(next));
        const start = loop.indexOf([...loop].sort()[0]!);
        const rotated = [...loop.slice(start), ...loop.slice(0, start)];
        cycles.add([...rotated, rotated[0]].join(' → '));
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return [...cycles].sort();
}

const fileAt = (name: string, lines: string[]): SourceFile => ({
  name,
  absolute: path.join(SRC, name),
  text: lines.join('\n'),
});

describe('the architecture checks themselves', () => {
  it('find the source files they check', () => {
    const names = sources.map((file) => file.name);
    expect(names).toContain('domain/accounts.ts');
    expect(names).toContain('ports/stores.ts');
    expect(names).toContain('config/load.ts');
    expect(names).toContain('app.ts');
  });

  it('recognize every import form, and which ones are type-only', () => {
    const text = [
      "import { a } from 'koa';",
      "import type { B } from '../storage/sql/tables.ts';",
      "export { c } from '@koa/router';",
      "import 'pg';",
      "const d = await import('../oidc/provider.ts');",
      'import {\n  e,\n  f,\n} from "kysely";',
      "export type { G } from './g.ts';",
      "import { type H } from './h.ts';",
    ].join('\n');
    expect(importsOf(text)).toEqual([
      { specifier: 'koa', typeOnly: false },
      { specifier: '../storage/sql/tables.ts', typeOnly: true },
      { specifier: '@koa/router', typeOnly: false },
      { specifier: 'pg', typeOnly: false },
      { specifier: '../oidc/provider.ts', typeOnly: false },
      { specifier: 'kysely', typeOnly: false },
      { specifier: './g.ts', typeOnly: true },
      // Under verbatimModuleSyntax an inline `type` still leaves the import (and its load) in place.
      { specifier: './h.ts', typeOnly: false },
    ]);
    expect(packageViolations(fileAt('domain/x.ts', text.split('\n')))).toHaveLength(4);
  });

  it('name the file and target of every import the table refuses', () => {
    const file = fileAt('storage/sql/x.ts', [
      "import { normalizeEmail } from '../../domain/email.ts';",
      "import type { Config } from '../../config/load.ts';",
      "import { loadConfig } from '../../config/load.ts';",
      "import type { Clock } from '../../ports/clock.ts';",
      "import { toOrganization } from './organization-store.ts';",
      "import { x } from '../../../bench/x.ts';",
    ]);
    expect(layerViolations(file)).toEqual([
      'storage/sql/x.ts imports domain/email.ts',
      'storage/sql/x.ts imports config/load.ts (only `import type` is allowed)',
      'storage/sql/x.ts imports ../bench/x.ts (outside the layer table)',
    ]);
    expect(
      layerViolations(
        fileAt('app.ts', ["import { a } from './storage/open.ts';", "import { b } from './cli/run.ts';"]),
      ),
    ).toEqual([]);
  });

  it('find an import cycle and name it from its smallest file', () => {
    const files = [
      fileAt('c.ts', ["import type { A } from './a.ts';"]),
      fileAt('a.ts', ["import { b } from './b.ts';"]),
      fileAt('b.ts', ["import { c } from './c.ts';", "import { d } from './d.ts';"]),
      fileAt('d.ts', ["import 'koa';"]),
    ];
    expect(findCycles(importGraph(files))).toEqual(['a.ts → b.ts → c.ts → a.ts']);
    expect(findCycles(importGraph(files.slice(1)))).toEqual([]);
  });
});

describe('architecture', () => {
  it('places every source file in a layer of the table', () => {
    expect(sources.filter((file) => layerOf(file.name) === null).map((file) => file.name)).toEqual([]);
  });

  it('lets each layer import only the layers the table allows', () => {
    expect(sources.flatMap(layerViolations)).toEqual([]);
  });

  it('keeps domain/, ports/ and factors/ free of Koa, oidc-provider, SQL and Redis packages', () => {
    const core = sources.filter((file) => CORE_LAYERS.includes(layerOf(file.name)!));
    expect(core.length).toBeGreaterThan(10);
    expect(core.flatMap(packageViolations)).toEqual([]);
  });

  it('has no import cycles between source files, type-only imports included', () => {
    expect(findCycles(importGraph(sources))).toEqual([]);
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
