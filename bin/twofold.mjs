#!/usr/bin/env node
// The `twofold` command. Node 24 runs the TypeScript sources directly (no build step); run it
// through npm (npx twofold) so that the project's pinned Node 24 is the one on the PATH.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `twofold needs Node.js 24 or newer (this is ${process.version}). Run it as "npx twofold" inside the project.\n`,
  );
  process.exit(1);
}
// Node warns once per experimental feature it meets (Web Crypto ML-DSA, for one): noise for an
// operator, not something they can act on. The flag must be given at start, so run again with it;
// other warnings (deprecations) still print.
const QUIET = '--disable-warning=ExperimentalWarning';
// V8's young generation in 8 MiB semi-spaces, not up to 32 MiB: 15-35 MiB less at idle and about
// 40 MiB less at peak for as much garbage-collection time per request (docs/deployment.md, Memory).
// Flags given to node come after it and win.
const MEMORY = '--max-semi-space-size=8';
if (!process.execArgv.includes(QUIET)) {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [QUIET, MEMORY, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    // Die of the same signal, as the parent's caller expects (with our forwarding handler gone).
    if (signal) process.removeAllListeners(signal).kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
} else {
  const { processIo, runCli } = await import('../src/cli/run.ts');
  process.exitCode = await runCli(process.argv.slice(2), processIo());
}
