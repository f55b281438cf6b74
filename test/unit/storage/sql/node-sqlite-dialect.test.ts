import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openSqlDatabase } from '../../../../src/storage/sql/database.ts';

const modeOf = (file: string) => statSync(file).mode & 0o777;

// Issue 8: the database holds password hashes and live sessions; a world-readable directory or a
// permissive umask must not make it readable by other local users.
describe('SQLite database files', () => {
  let dir: string;
  let umask: number;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'twofold-mode-'));
    chmodSync(dir, 0o777);
    umask = process.umask(0);
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('are created readable by their owner only, with their -wal and -shm files', async () => {
    const filename = path.join(dir, 'twofold.db');
    const sql = openSqlDatabase({ kind: 'sqlite', filename });
    try {
      await sql.migrate();
      for (const file of [filename, `${filename}-wal`, `${filename}-shm`]) expect(modeOf(file)).toBe(0o600);
    } finally {
      await sql.close();
    }
  });

  it('an existing database readable by others is narrowed to its owner when opened', async () => {
    const filename = path.join(dir, 'old.db');
    writeFileSync(filename, '', { mode: 0o644 });
    const sql = openSqlDatabase({ kind: 'sqlite', filename });
    try {
      await sql.migrate();
      expect(modeOf(filename)).toBe(0o600);
    } finally {
      await sql.close();
    }
  });
});
