import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApp, type TwofoldApp } from '../../src/app.ts';
import { createTestEnvironment, type TestEnvironment } from '../helpers/server.ts';

/**
 * Flows and strategies stay apart (STYLE §7, issue 7): the flows under src/http and src/oidc and
 * the pages under views/interaction and views/account never name a factor kind, routes reach the
 * durable stores only through the domain, and each factor's views sit where the flows look.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KINDS = /\b(totp|sms|voice|webauthn)\b/;

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(relative) : [relative];
  });
}

const naming = (dirs: string[]) =>
  dirs.flatMap(filesUnder).flatMap((file) =>
    readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .flatMap((line, i) => (KINDS.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );

describe('flows that never name a factor', () => {
  it('finds no factor kind in src/http, src/oidc, views/interaction or views/account', () => {
    expect(filesUnder('src/http').length).toBeGreaterThan(10);
    expect(naming(['src/http', 'src/oidc', 'views/interaction', 'views/account'])).toEqual([]);
  });

  it('would catch a flow that names one', () => {
    expect(KINDS.test("if (factor.kind === 'totp')")).toBe(true);
    expect(KINDS.test('<% if (it.kind === "webauthn") { %>')).toBe(true);
    expect(KINDS.test('a totpish word, a voiced one')).toBe(false);
  });

  it('lets routes reach durable stores only through the domain (the ephemeral store aside)', () => {
    const stores = filesUnder('src/http').flatMap((file) => {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      const names = [...text.matchAll(/import[^;]*?\{([^}]*)\}[^;]*from '[./]*ports\/[^']+'/g)].flatMap((m) =>
        m[1]!.split(','),
      );
      return names
        .map((n) => n.replace(/\btype\b/, '').trim())
        .filter((n) => /Store$/.test(n) && n !== 'EphemeralStore')
        .map((n) => `${file} imports ${n}`);
    });
    expect(stores).toEqual([]);
  });
});

describe('each factor of the registry', () => {
  let environment: TestEnvironment;
  let app: TwofoldApp;

  beforeAll(async () => {
    environment = await createTestEnvironment('sqlite');
    app = await createApp(environment.config, { ...environment.options, sqliteFilename: ':memory:' });
    await app.migrate();
  });
  afterAll(async () => {
    await app?.close();
    await environment?.cleanup();
  });

  it('has the views its abilities need, in views/factors/<kind>/', () => {
    const missing = app.factors.registry.all().flatMap((factor) => {
      const needed = [
        'verify',
        ...(factor.enrolment ? ['enrol', 'confirm'] : []),
        ...(factor.passwordless ? ['passwordless'] : []),
      ];
      return needed
        .map((view) => `views/factors/${factor.kind}/${view}.ejs`)
        .filter((file) => !existsSync(path.join(ROOT, file)));
    });
    expect(app.factors.registry.all().map((f) => f.kind)).toEqual([
      'totp',
      'sms',
      'voice',
      'webauthn',
      'recovery',
      'access-code',
    ]);
    expect(missing).toEqual([]);
  });

  it('offers every enrollable factor, and only those, for enrolment', async () => {
    const org = await app.services.organizations.createOrganization({ slug: 'boundaries', name: 'Boundaries' });
    expect(app.factors.registry.enrollableFor(org, 'member').map((f) => f.kind)).toEqual([
      'totp',
      'sms',
      'voice',
      'webauthn',
    ]);
  });

  it('says of each factor whether it resists phishing: only the one whose proof is bound to the origin', () => {
    const resistant = app.factors.registry
      .all()
      .filter((f) => f.phishingResistant)
      .map((f) => f.kind);
    expect(resistant).toEqual(['webauthn']);
  });
});
