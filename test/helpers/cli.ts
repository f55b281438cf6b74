import { runCli, type CliIo } from '../../src/cli/run.ts';

/** Runs the CLI in-process against one data directory, capturing what it prints. */
export function inProcessCli(dataDir: string) {
  return async (argv: string[], stdin = '') => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      env: { TWOFOLD_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
      cwd: () => process.cwd(),
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      readStdin: async () => stdin,
    };
    const code = await runCli(argv, io);
    return { code, stdout, stderr, json: () => JSON.parse(stdout.trim()) as Record<string, unknown> };
  };
}
