import { ACTIVITY_KINDS, type ActivityFilter, type ActivityKind } from '../../../domain/activity.ts';

export type FilterField = 'person' | 'kind' | 'from' | 'to';

/** The filter form as read: what was typed (to show it again), what is wrong, and the filter itself. */
export interface FilterForm {
  values: Record<FilterField, string>;
  errors: Partial<Record<FilterField, string>>;
  filter: ActivityFilter;
}

const DAY_MS = 86_400_000;
const DATE_ERROR = 'Enter a date like 2031-01-31.';

/** The start of a calendar day in UTC, or null for an empty or impossible date (2031-02-30). */
function dayStart(value: string): number | null | 'invalid' {
  if (value === '') return null;
  const at = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  return Number.isNaN(at) || new Date(at).toISOString().slice(0, 10) !== value ? 'invalid' : at;
}

const textOf = (query: Record<string, unknown>, key: string) =>
  typeof query[key] === 'string' ? (query[key] as string).trim() : '';

/**
 * Reads the Activity filters from the query: a person (email or a piece of a name), a kind of
 * event (anything unknown means every kind), and a date range in UTC whose end day is included.
 */
export function readFilter(query: Record<string, unknown>): FilterForm {
  const kindText = textOf(query, 'kind');
  const kind = (ACTIVITY_KINDS as readonly string[]).includes(kindText) ? (kindText as ActivityKind) : null;
  const values = {
    person: textOf(query, 'person'),
    kind: kind ?? '',
    from: textOf(query, 'from'),
    to: textOf(query, 'to'),
  };
  const errors: FilterForm['errors'] = {};
  if (values.person.length > 200) errors.person = 'Use at most 200 characters.';
  const from = dayStart(values.from);
  const to = dayStart(values.to);
  if (from === 'invalid') errors.from = DATE_ERROR;
  if (to === 'invalid') errors.to = DATE_ERROR;
  if (typeof from === 'number' && typeof to === 'number' && to < from)
    errors.to = 'The end date is before the start date.';
  const filter: ActivityFilter = {
    person: errors.person ? '' : values.person,
    kind,
    from: typeof from === 'number' ? from : null,
    to: typeof to === 'number' ? to + DAY_MS : null,
  };
  return { values, errors, filter };
}
