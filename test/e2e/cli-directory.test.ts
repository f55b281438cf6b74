import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { inProcessCli } from '../helpers/cli.ts';

/** The directory and policy commands: org show/update, user list/show (DESIGN §4). */
describe('the twofold CLI on organizations and people', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'twofold-cli-dir-'));
  const twofold = inProcessCli(dataDir);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("shows and updates an organization's policy, refusing bad values with the flag named", async () => {
    expect((await twofold(['org', 'create', 'acme', '--name', 'Acme Corp'])).code).toBe(0);
    const shown = await twofold(['org', 'show', 'acme', '--json']);
    expect(shown.json()).toMatchObject({
      slug: 'acme',
      enforceTfa: false,
      trustedBrowserDays: 30,
      appPasswords: 'tfa',
    });
    const updated = await twofold(['org', 'update', 'acme', '--enforce-tfa', '--trusted-browser-days', '7', '--json']);
    expect(updated.code).toBe(0);
    expect(updated.json()).toMatchObject({ enforceTfa: true, trustedBrowserDays: 7 });
    expect((await twofold(['org', 'show', 'acme'])).stdout).toContain('required for everyone');
    expect((await twofold(['org', 'update', 'acme', '--no-enforce-tfa', '--json'])).json()).toMatchObject({
      enforceTfa: false,
    });
    const both = await twofold(['org', 'update', 'acme', '--enforce-tfa', '--no-enforce-tfa']);
    expect([both.code, both.stderr]).toEqual([1, expect.stringContaining('not both')]);
    const days = await twofold(['org', 'update', 'acme', '--trusted-browser-days', '900']);
    expect([days.code, days.stderr]).toEqual([1, expect.stringContaining('--trusted-browser-days')]);
    // The method policy and the enrolment grace (issue 9).
    const methods = await twofold([
      'org',
      'update',
      'acme',
      '--allowed-methods',
      'webauthn, totp',
      '--phishing-resistant',
      'admins',
      '--tfa-grace-days',
      '14',
      '--json',
    ]);
    expect(methods.json()).toMatchObject({
      allowedMethods: ['totp', 'webauthn'],
      phishingResistant: 'admins',
      tfaGraceDays: 14,
    });
    expect((await twofold(['org', 'show', 'acme'])).stdout).toContain(
      'enrolment grace: 14 days; allowed methods: totp, webauthn; phishing-resistant methods required of: admins',
    );
    const none = await twofold([
      'org',
      'update',
      'acme',
      '--allowed-methods',
      'sms',
      '--phishing-resistant',
      'everyone',
    ]);
    expect([none.code, none.stderr]).toEqual([1, expect.stringContaining('phishingResistant: None of the allowed')]);
    const grace = await twofold(['org', 'update', 'acme', '--tfa-grace-days', '91']);
    expect([grace.code, grace.stderr]).toEqual([1, expect.stringContaining('--tfa-grace-days')]);
    expect((await twofold(['org', 'update', 'acme', '--allowed-methods', 'all', '--json'])).json()).toMatchObject({
      allowedMethods: null,
    });
    expect((await twofold(['org', 'show', 'nope'])).code).toBe(1);
    expect((await twofold(['org', 'update'])).code).toBe(1);
  });

  it('lists and shows people with their two-step status', async () => {
    for (const email of ['ada@acme.example', 'bob@acme.example']) {
      const created = await twofold(
        ['user', 'create', '--org', 'acme', '--email', email, '--password-stdin'],
        'a long passphrase of several words',
      );
      expect(created.code, created.stderr).toBe(0);
    }
    const listed = await twofold(['user', 'list', '--org', 'acme', '--json']);
    expect((listed.json().people as { email: string; tfa: string }[]).map((p) => [p.email, p.tfa])).toEqual([
      ['ada@acme.example', 'off'],
      ['bob@acme.example', 'off'],
    ]);
    expect(
      (await twofold(['user', 'list', '--org', 'acme', '--search', 'BOB'])).stdout.trim().split('\n'),
    ).toHaveLength(1);
    expect((await twofold(['user', 'list', '--org', 'acme', '--tfa', 'own'])).stdout).toContain('no people match');
    const badStatus = await twofold(['user', 'list', '--org', 'acme', '--tfa', 'maybe']);
    expect([badStatus.code, badStatus.stderr]).toEqual([1, expect.stringContaining('--tfa must be one of')]);
    const shown = await twofold(['user', 'show', '--email', 'ADA@acme.example', '--json']);
    expect(shown.json()).toMatchObject({
      email: 'ada@acme.example',
      role: 'member',
      org: 'acme',
      tfa: 'off',
      methods: [],
      appPasswords: [],
    });
    expect((await twofold(['user', 'show', '--email', 'nobody@acme.example'])).code).toBe(1);
  });
});
