import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/server.ts';

/** `npm start` as an operator runs it: a real process, its output, its signals. */
describe('starting the server (node src/main.ts)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'twofold-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  function start(env: Record<string, string>) {
    const child = spawn(process.execPath, ['src/main.ts'], {
      env: { ...process.env, TWOFOLD_DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const output = () => ({ stdout, stderr });
    async function waitFor(pattern: RegExp, ms = 15_000): Promise<RegExpExecArray> {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const match = pattern.exec(stdout);
        if (match) return match;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`never printed ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`);
    }
    return { child, exited, output, waitFor };
  }

  it('prints the one-time setup link, serves, and shuts down gracefully on SIGTERM', async () => {
    const port = await freePort();
    const server = start({ PORT: String(port) });
    const [link] = await server.waitFor(/http:\/\/localhost:\d+\/setup\?token=[A-Za-z0-9_-]{43}/);
    expect(link).toContain(`localhost:${port}`);
    const discovery = (await (await fetch(`http://localhost:${port}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
    };
    expect(discovery.issuer).toBe(`http://localhost:${port}`);
    expect((await fetch(link!)).status).toBe(200);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    // JSON log lines carry request ids; the setup link is also logged for log collectors.
    const lines = server
      .output()
      .stdout.split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      lines.some(
        (l) => l.msg === 'request' && typeof l.reqId === 'string' && l.path === '/.well-known/openid-configuration',
      ),
    ).toBe(true);
    expect(lines.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true);
    // Issue 8: no Node ExperimentalWarning lines for the operator to wonder about.
    expect(server.output().stderr).not.toMatch(/ExperimentalWarning|experimental feature/i);
  });

  it('refuses to start on an invalid setting, naming it', async () => {
    const server = start({ PORT: '99999' });
    expect(await server.exited).toBe(1);
    expect(server.output().stderr).toContain('port');
  });

  it('refuses production with the outbox delivery driver', async () => {
    const server = start({ NODE_ENV: 'production', TWOFOLD_ISSUER: 'https://id.example.com' });
    expect(await server.exited).toBe(1);
    expect(server.output().stderr).toContain('delivery.driver');
  });
});
