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
const { processIo, runCli } = await import('../src/cli/run.ts');
process.exitCode = await runCli(process.argv.slice(2), processIo());
