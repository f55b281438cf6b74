import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { ACTIVITY_KINDS, KIND_TYPES } from '../../../../src/domain/activity.ts';
import { describeEvent } from '../../../../src/http/routes/activity-rows.ts';
import { csvCell } from '../../../../src/http/routes/admin/activity-export.ts';
import { EVENT_TEXT } from '../../../../src/http/routes/event-text.ts';

const SRC = fileURLToPath(new URL('../../../../src/', import.meta.url));
/** A line that names an audit event type: `type: '…'`, `record(person, '…')`, `failureEvent: '…'`. */
const RECORDING = /\btype:|\brecord\(|failureEvent:/;
const EVENT_TYPE = /'([a-z_]+\.[a-z_]+)'/g;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );
}

/** Every event type a source line records, found by reading the code. */
function recordedTypes(): string[] {
  const lines = filesUnder(SRC)
    .filter((file) => file.endsWith('.ts'))
    .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
    .filter((line) => RECORDING.test(line));
  return [...new Set(lines.flatMap((line) => [...line.matchAll(EVENT_TYPE)].map((m) => m[1]!)))].sort();
}

const kindsOf = (type: string) =>
  ACTIVITY_KINDS.filter((kind) =>
    KIND_TYPES[kind].some((pattern) =>
      pattern.endsWith('.*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type,
    ),
  );

const noFactors = { get: () => undefined };

describe('the words of the audit trail', () => {
  it('has words for every event type the code records, and puts each under exactly one kind of event', () => {
    const types = recordedTypes();
    expect(types).toContain('signin.succeeded');
    expect(types).toContain('org.tfa_relaxed');
    expect(types.filter((type) => !EVENT_TEXT[type])).toEqual([]);
    expect(types.filter((type) => kindsOf(type).length !== 1)).toEqual([]);
  });

  it('says what changed, the method and the wait, and what an export held', () => {
    const changes = { changes: { trustedBrowserDays: { from: 30, to: 7 }, passwordMinLength: { from: 12, to: null } } };
    expect(describeEvent({ type: 'org.policy_changed', detail: changes }, noFactors)).toBe(
      'Organization security settings changed (trusted browser days: 30 → 7; password min length: 12 → default)',
    );
    const throttled = { method: 'password', via: 'mail_app', retryAfterSeconds: 4, concurrent: false };
    expect(describeEvent({ type: 'signin.throttled', detail: throttled }, noFactors)).toBe(
      'Sign-in attempt held back after too many failures (password; mail or calendar app; next try in 4 seconds)',
    );
    expect(describeEvent({ type: 'signin.password_failed', detail: { method: 'password' } }, noFactors)).toBe(
      'Wrong password entered',
    );
    const exported = { format: 'csv', person: 'ada', kind: 'failures', from: null, to: '2031-02-01T00:00:00.000Z' };
    expect(describeEvent({ type: 'audit.exported', detail: exported }, noFactors)).toBe(
      'Activity exported (CSV; failed sign-ins; person “ada”; to 2031-01-31)',
    );
    expect(describeEvent({ type: 'something.new', detail: {} }, noFactors)).toBe('something.new');
  });

  it('keeps CSV cells that a spreadsheet would run as formulas as text (OWASP CSV injection)', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) expect(csvCell(`${start}1+1`)).toBe(`"'${start}1+1"`);
    expect(csvCell('say "hi", then\r\nleave')).toBe('"say ""hi"", then\r\nleave"');
    expect(csvCell('Ada')).toBe('"Ada"');
    expect(csvCell(null)).toBe('""');
  });
});
