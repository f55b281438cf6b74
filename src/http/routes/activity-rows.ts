import { UAParser } from 'ua-parser-js';

import type { ActivityKind } from '../../domain/activity.ts';
import { secondsText } from '../../domain/duration-text.ts';
import type { FactorRegistry } from '../../factors/registry.ts';
import type { AuditEntry, AuditEvent } from '../../ports/stores.ts';
import { EVENT_TEXT } from './event-text.ts';

/** One event as the Activity pages show it and the exports write it: words, never raw codes alone. */
export interface ActivityRow {
  id: string;
  type: string;
  /** ISO 8601 in UTC, for `<time datetime>` and the exports. */
  iso: string;
  /** The same instant as people read it, in UTC: "2031-01-01 09:30:05". */
  time: string;
  text: string;
  /** Whom it is about: their name (or email) and email; null for organization events. */
  person: string | null;
  personEmail: string | null;
  personName: string | null;
  /** Who acted when it was not the person: an administrator's email, or the command line. */
  by: string | null;
  ip: string | null;
  /** The browser and system in a few words ("Firefox 130 on Linux"), or the client's own name. */
  browser: string | null;
  userAgent: string | null;
  requestId: string | null;
  /** The request id cut to fit a table cell (a client may send one of up to 128 characters). */
  requestIdShort: string | null;
  detail: Record<string, unknown>;
}

/** The kinds of event as administrators name them (the console's filter, the export's record). */
export const KIND_TEXT: Record<ActivityKind, string> = {
  signins: 'Sign-ins',
  failures: 'Failed sign-ins',
  two_step: 'Two-step verification changes',
  app_passwords: 'App passwords',
  passwords: 'Password changes',
  administration: 'Administration and policy',
};

const METHOD_WORDS: Record<string, string> = { password: 'password', passkey: 'passkey' };
const CHANNEL_WORDS: Record<string, string> = { mail_app: 'mail or calendar app' };
/** Systems by the names people know them by today. */
const SYSTEM_NAMES: Record<string, string> = { 'Mac OS': 'macOS' };

/** "Firefox 130 on Linux" from a User-Agent (ua-parser-js); a client that is no browser keeps its own name. */
export function shortBrowser(userAgent: string | null): string | null {
  if (!userAgent) return null;
  const { browser, os } = new UAParser(userAgent).getResult();
  if (!browser.name) return userAgent.split(/[/\s]/)[0]!.slice(0, 40) || null;
  const name = browser.major ? `${browser.name} ${browser.major}` : browser.name;
  return os.name ? `${name} on ${SYSTEM_NAMES[os.name] ?? os.name}` : name;
}

/** "sessionMaxHours" → "session max hours": settings added later still read as words. */
const settingWords = (key: string) => key.replace(/([A-Z])/g, ' $1').toLowerCase();

/** Settings whose empty value is no setting at all rather than the deployment's default. */
const EMPTY_WORDS: Record<string, string> = { defaultCountry: 'none' };

function settingValue(value: unknown, key = ''): string {
  if (value === null || value === undefined) return EMPTY_WORDS[key] ?? 'default';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (Array.isArray(value)) return value.join(', ') || 'none';
  return String(value);
}

/** "minimum length: default → 12" for each setting a policy change changed. */
function changesText(changes: unknown): string[] {
  if (typeof changes !== 'object' || changes === null) return [];
  return Object.entries(changes as Record<string, { from?: unknown; to?: unknown }>).map(
    ([key, change]) => `${settingWords(key)}: ${settingValue(change?.from, key)} → ${settingValue(change?.to, key)}`,
  );
}

/** What an export held: "CSV; failed sign-ins; person “ada”; from 2031-01-01". */
function exportText(detail: Record<string, unknown>): string[] {
  const day = (value: unknown) => (typeof value === 'string' ? value.slice(0, 10) : null);
  // The filter's end is exclusive (the start of the next day): the last day it holds is the one before.
  const lastDay = typeof detail.to === 'string' ? day(new Date(Date.parse(detail.to) - 1).toISOString()) : null;
  const kind = typeof detail.kind === 'string' ? KIND_TEXT[detail.kind as ActivityKind] : undefined;
  return [
    String(detail.format).toUpperCase(),
    kind ? kind.toLowerCase() : 'every kind',
    typeof detail.person === 'string' ? `person “${detail.person}”` : null,
    day(detail.from) ? `from ${day(detail.from)}` : null,
    lastDay ? `to ${lastDay}` : null,
  ].filter((part): part is string => part !== null);
}

/** The method an event names, in the person's words: a factor's name, "password", "passkey". */
function methodText(detail: Record<string, unknown>, registry: Pick<FactorRegistry, 'get'>): string | null {
  if (typeof detail.method === 'string')
    return registry.get(detail.method)?.name ?? METHOD_WORDS[detail.method] ?? detail.method;
  return typeof detail.kind === 'string' ? (registry.get(detail.kind)?.name ?? null) : null;
}

/** The event in words, with what its detail adds: the method, the channel, the wait, what changed. */
export function describeEvent(
  event: Pick<AuditEvent, 'type' | 'detail'>,
  registry: Pick<FactorRegistry, 'get'>,
): string {
  const { detail } = event;
  const text = EVENT_TEXT[event.type] ?? event.type;
  if (event.type === 'audit.exported') return `${text} (${exportText(detail).join('; ')})`;
  const method = methodText(detail, registry);
  const parts = [
    // "Wrong password entered" needs no "(password)".
    method && !text.toLowerCase().includes(method.toLowerCase()) ? method : null,
    typeof detail.via === 'string' ? (CHANNEL_WORDS[detail.via] ?? detail.via) : null,
    typeof detail.name === 'string' ? `“${detail.name}”` : null,
    detail.concurrent === true ? 'another attempt was being checked' : null,
    detail.concurrent === false && typeof detail.retryAfterSeconds === 'number'
      ? `next try in ${secondsText(detail.retryAfterSeconds)}`
      : null,
    ...changesText(detail.changes),
  ].filter((part): part is string => part !== null);
  return parts.length > 0 ? `${text} (${parts.join('; ')})` : text;
}

/** Builds rows for the Activity pages and exports, with the factors' names from the registry. */
export function createActivityRows(registry: Pick<FactorRegistry, 'get'>): (entry: AuditEntry) => ActivityRow {
  return (entry) => {
    const iso = new Date(entry.at).toISOString();
    return {
      id: entry.id,
      type: entry.type,
      iso,
      time: iso.slice(0, 19).replace('T', ' '),
      text: describeEvent(entry, registry),
      person: entry.subject ? (entry.subject.name ?? entry.subject.email) : entry.userId ? 'A removed person' : null,
      personEmail: entry.subject?.email ?? null,
      personName: entry.subject?.name ?? null,
      by: entry.actor === 'cli' ? 'Command line' : entry.actor,
      ip: entry.ip,
      browser: shortBrowser(entry.userAgent),
      userAgent: entry.userAgent,
      requestId: entry.requestId,
      requestIdShort:
        entry.requestId && entry.requestId.length > 20 ? `${entry.requestId.slice(0, 19)}…` : entry.requestId,
      detail: entry.detail,
    };
  };
}
