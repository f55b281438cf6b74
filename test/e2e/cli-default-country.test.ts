import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { inProcessCli } from '../helpers/cli.ts';

/** Issue 8: the organization's default country for phone numbers from the command line. */
describe('the twofold CLI on the default country for phone numbers', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'twofold-cli-country-'));
  const twofold = inProcessCli(dataDir);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates an organization with a default country, or none', async () => {
    const created = await twofold(['org', 'create', 'brit', '--default-country', 'gb', '--json']);
    expect(created.code).toBe(0);
    expect(created.json()).toMatchObject({ slug: 'brit', defaultCountry: 'GB' });
    expect((await twofold(['org', 'create', 'acme', '--json'])).json()).toMatchObject({ defaultCountry: null });
    expect((await twofold(['org', 'show', 'brit'])).stdout).toContain(
      'default country for phone numbers: GB (United Kingdom)',
    );
    expect((await twofold(['org', 'show', 'acme'])).stdout).toContain(
      'default country for phone numbers: none (international format)',
    );
  });

  it('sets and clears it with org update, and refuses codes that are no country with phone numbers', async () => {
    const set = await twofold(['org', 'update', 'acme', '--default-country', 'US', '--json']);
    expect([set.code, set.json().defaultCountry]).toEqual([0, 'US']);
    for (const code of ['XX', 'UK', 'USA', '']) {
      const refused = await twofold(['org', 'update', 'acme', '--default-country', code]);
      expect(refused.code, code).toBe(1);
      expect(refused.stderr).toContain('--default-country must be a two-letter country code with phone numbers');
    }
    const refusedAtCreation = await twofold(['org', 'create', 'nowhere', '--default-country', 'ZZ']);
    expect(refusedAtCreation.code).toBe(1);
    expect((await twofold(['org', 'show', 'nowhere'])).code).toBe(1);
    expect((await twofold(['org', 'show', 'acme', '--json'])).json()).toMatchObject({ defaultCountry: 'US' });
    const cleared = await twofold(['org', 'update', 'acme', '--default-country', 'none', '--json']);
    expect(cleared.json()).toMatchObject({ defaultCountry: null });
  });

  it("reads a person's national --phone in the organization's default country, stored in E.164", async () => {
    const create = (org: string, email: string, phone: string) =>
      twofold(
        ['user', 'create', '--org', org, '--email', email, '--phone', phone, '--password-stdin', '--json'],
        'a perfectly fine passphrase\n',
      );
    const british = await create('brit', 'ada@brit.example', '020 7946 0018');
    expect([british.code, british.json().phone]).toEqual([0, '+442079460018']);
    const international = await create('acme', 'bob@acme.example', '+44 20 7946 0018');
    expect(international.json().phone).toBe('+442079460018');
    const national = await create('acme', 'cy@acme.example', '020 7946 0018');
    expect(national.code).toBe(1);
    expect(national.stderr).toContain(
      'phone: That is not a valid number. Enter your number as you would dial it in the country chosen (none is chosen), or in international format starting with\u00a0+.',
    );
  });
});
