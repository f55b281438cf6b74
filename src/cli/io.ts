/** What the CLI touches of its process, injected so tests run it in-process. */
export interface CliIo {
  env: Record<string, string | undefined>;
  cwd(): string;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  readStdin(): Promise<string>;
  /** `serve` runs until one of these signals arrives. */
  onShutdownSignal?(handler: (signal: string) => void): void;
}
