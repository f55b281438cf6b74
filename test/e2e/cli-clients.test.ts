import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { inProcessCli } from '../helpers/cli.ts';

/** Issue 8: relying parties registered with their kind, and listed with what they may do. */
describe('issue 8: the twofold CLI on relying parties', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'twofold-cli-clients-'));
  const twofold = inProcessCli(dataDir);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const add = async (...args: string[]) => twofold(['client', 'add', ...args, '--json']);

  it('registers a confidential client on http://localhost as a web app, and a public one there as native', async () => {
    expect((await add('--id', 'dev', '--redirect-uri', 'http://localhost:8080/cb')).json()).toMatchObject({
      application_type: 'web',
      token_endpoint_auth_method: 'client_secret_basic',
    });
    expect((await add('--id', 'desktop', '--public', '--redirect-uri', 'http://127.0.0.1/cb')).json()).toMatchObject({
      application_type: 'native',
    });
  });

  it('takes --application-type web|native, which the provider accepts as stored', async () => {
    expect((await twofold(['client', 'add', '--help'])).stdout).toContain('--application-type web|native');
    const native = await add(
      '--id',
      'tool',
      '--application-type',
      'native',
      '--redirect-uri',
      'http://localhost/cb',
      '--post-logout-redirect-uri',
      'http://localhost/signed-out',
    );
    expect(native.code).toBe(0);
    expect(native.json()).toMatchObject({
      application_type: 'native',
      post_logout_redirect_uris: ['http://localhost/signed-out'],
    });
    const spa = await add('--id', 'spa', '--public', '--application-type', 'web', '--redirect-uri', 'http://[::1]/cb');
    expect(spa.json()).toMatchObject({ application_type: 'web', token_endpoint_auth_method: 'none' });
  });

  it('refuses an application type that does not fit, with the reason', async () => {
    const cases: [string[], RegExp][] = [
      [['--id', 'x1', '--application-type', 'desktop', '--redirect-uri', 'https://x.example/cb'], /web, native/],
      [['--id', 'x2', '--application-type', 'web', '--redirect-uri', 'com.example.x:/cb'], /private-use scheme/],
      // The provider's own validation still runs: a native app may not claim https on a loopback host.
      [['--id', 'x3', '--application-type', 'native', '--redirect-uri', 'https://localhost/cb'], /loopback|localhost/],
    ];
    for (const [args, message] of cases) {
      const result = await twofold(['client', 'add', ...args]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(message);
    }
    const listed = (await twofold(['client', 'list', '--json'])).json().clients as { clientId: string }[];
    expect(listed.map((c) => c.clientId)).not.toContain('x3');
  });

  it('lists each client with its name, kind, authentication and what it may do, in text and JSON', async () => {
    await add(
      '--id',
      'portal',
      '--name',
      'Staff portal',
      '--account-api',
      '--redirect-uri',
      'https://portal.example/cb',
    );
    await add('--id', 'mail', '--grant', 'password', '--introspection', '--scope', 'imap');
    await add('--id', 'proxy', '--grant', 'client_credentials', '--forward-auth');
    await add('--id', 'console-tool', '--admin-api', '--redirect-uri', 'https://tool.example/cb');
    const json = (await twofold(['client', 'list', '--json'])).json().clients as Record<string, unknown>[];
    const byId = new Map(json.map((c) => [c.clientId, c]));
    expect(byId.get('portal')).toMatchObject({
      name: 'Staff portal',
      applicationType: 'web',
      confidential: true,
      firstParty: true,
      accountApi: true,
      introspection: false,
      forwardAuth: false,
    });
    expect(byId.get('desktop')).toMatchObject({ applicationType: 'native', confidential: false, firstParty: false });
    expect(byId.get('mail')).toMatchObject({ introspection: true, forwardAuth: false, accountApi: false });
    expect(byId.get('proxy')).toMatchObject({ forwardAuth: true, introspection: false });
    expect(byId.get('console-tool')).toMatchObject({ firstParty: true, adminApi: true, accountApi: false });
    expect(byId.get('portal')).toMatchObject({ adminApi: false });

    const lines = (await twofold(['client', 'list'])).stdout.trim().split('\n');
    const line = (id: string) => lines.find((l) => l.startsWith(`${id}\t`))!.split('\t');
    expect(line('portal').slice(0, 5)).toEqual([
      'portal',
      'Staff portal',
      'web',
      'confidential',
      'first-party,account-api',
    ]);
    expect(line('desktop').slice(0, 5)).toEqual(['desktop', 'desktop', 'native', 'public', '-']);
    expect(line('mail')[4]).toBe('introspection');
    expect(line('proxy')[4]).toBe('forward-auth');
    expect(line('console-tool')[4]).toBe('first-party,admin-api');
  });
});
