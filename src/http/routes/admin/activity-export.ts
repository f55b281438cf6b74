import { Readable } from 'node:stream';

import type { ExportFormat } from '../../../domain/activity.ts';
import type { AuditEntry } from '../../../ports/stores.ts';
import type { ActivityRow } from '../activity-rows.ts';

const COLUMNS = [
  'time',
  'event',
  'description',
  'person_email',
  'person_name',
  'by',
  'address',
  'browser',
  'user_agent',
  'request_id',
  'detail',
] as const;

/**
 * One CSV cell (RFC 4180): always quoted, quotes doubled. A cell that a spreadsheet would read as
 * a formula (=, +, -, @, or a tab or carriage return before one) gets a leading apostrophe, so it
 * stays text (OWASP "CSV Injection"): names, browsers and details come from outside.
 */
export function csvCell(value: string | null): string {
  const text = value ?? '';
  const defused = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${defused.replaceAll('"', '""')}"`;
}

const csvLine = (cells: (string | null)[]) => `${cells.map(csvCell).join(',')}\r\n`;

function csvRecord(row: ActivityRow): string {
  return csvLine([
    row.iso,
    row.type,
    row.text,
    row.personEmail,
    row.personName,
    row.by,
    row.ip,
    row.browser,
    row.userAgent,
    row.requestId,
    JSON.stringify(row.detail),
  ]);
}

/** One JSON object a line (JSON Lines): the same fields, the detail as an object. */
function jsonRecord(row: ActivityRow, entry: AuditEntry): string {
  const person = entry.userId ? { id: entry.userId, email: row.personEmail, name: row.personName } : null;
  const record = {
    id: row.id,
    time: row.iso,
    event: row.type,
    description: row.text,
    person,
    by: row.by,
    address: row.ip,
    browser: row.browser,
    userAgent: row.userAgent,
    requestId: row.requestId,
    detail: row.detail,
  };
  return `${JSON.stringify(record)}\n`;
}

export const EXPORT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/jsonl; charset=utf-8',
};

/**
 * The export as a stream, written as the trail is read (a page at a time): CSV with a header (and a
 * byte-order mark, so that spreadsheets read the names as UTF-8), or JSON Lines.
 */
export function exportStream(
  format: ExportFormat,
  entries: AsyncIterable<AuditEntry>,
  toRow: (entry: AuditEntry) => ActivityRow,
): Readable {
  async function* lines(): AsyncGenerator<string> {
    if (format === 'csv') yield `\uFEFF${csvLine([...COLUMNS])}`;
    for await (const entry of entries) {
      const row = toRow(entry);
      yield format === 'csv' ? csvRecord(row) : jsonRecord(row, entry);
    }
  }
  return Readable.from(lines());
}
