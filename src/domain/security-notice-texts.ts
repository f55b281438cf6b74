import type { AuditEvent } from '../ports/stores.ts';

/**
 * Every security email's words, in one place. A notice is built from the audit event alone (what
 * the audit trail holds, which never includes a secret) and the person's name and organization.
 */
export interface NoticeFacts {
  event: AuditEvent;
  /** The person's name, or their email when they have none. */
  greeting: string;
  orgName: string;
  /** <issuer>/account */
  accountUrl: string;
  /** The person's word for a factor kind ("Authenticator app"). */
  methodName(kind: string): string;
}

export interface NoticeText {
  subject: string;
  /** What happened, in sentences. */
  happened: string[];
  /** What else to know (codes running out), after when, browser and address. */
  also?: string[];
  /** What to do if it was not them; the default says to check the account and call an administrator. */
  ifNotYou?: string[];
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** "Wednesday 1 January 2031, 09:05 UTC": the month's name leaves no doubt about the order, UTC about the zone. */
export function utcText(ms: number): string {
  const at = new Date(ms);
  const time = `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
  return `${WEEKDAYS[at.getUTCDay()]} ${at.getUTCDate()} ${MONTHS[at.getUTCMonth()]} ${at.getUTCFullYear()}, ${time} UTC`;
}

/** Recovery codes this few or fewer: the email asks for a new set. */
export const FEW_RECOVERY_CODES = 2;

const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** Who acted for an administrator's change: their email, or the operator at the command line. */
function administrator(event: AuditEvent): string {
  const by = event.actor ?? text(event.detail.by);
  return by === '' || by === 'cli' ? 'An operator (from the command line)' : `An administrator (${by})`;
}

function ifAdministratorDidNot(event: AuditEvent, facts: NoticeFacts): string[] {
  const by = event.actor ?? text(event.detail.by);
  const contact = by === '' || by === 'cli' ? 'your administrator' : `your administrator (${by})`;
  return [`If you did not expect this, contact ${contact} and check your account at ${facts.accountUrl}.`];
}

function methodOf(facts: NoticeFacts): string {
  const kind = text(facts.event.detail.method) || text(facts.event.detail.kind);
  return kind ? facts.methodName(kind) : 'A method';
}

function recoveryCodeUsed(facts: NoticeFacts): NoticeText {
  const left = Number(facts.event.detail.remaining);
  const known = Number.isInteger(left) && left >= 0;
  const also = !known
    ? []
    : left === 0
      ? [
          `You have no recovery codes left. Make a new set now at ${facts.accountUrl}/two-factor ("Make new recovery codes") and keep it somewhere safe.`,
        ]
      : left <= FEW_RECOVERY_CODES
        ? [
            `You have only ${plural(left, 'recovery code', 'recovery codes')} left. Make a new set now at ${facts.accountUrl}/two-factor ("Make new recovery codes"); a new set replaces the codes you have left.`,
          ]
        : [`You have ${plural(left, 'recovery code', 'recovery codes')} left.`];
  return {
    subject: 'A recovery code was used to sign in to your account',
    happened: ['One of your recovery codes was used for the second step of signing in. It cannot be used again.'],
    also,
  };
}

function scopesOf(event: AuditEvent): string {
  const scopes = Array.isArray(event.detail.scopes) ? event.detail.scopes.filter((s) => typeof s === 'string') : [];
  return scopes.length > 0 ? ` (${scopes.join(', ')})` : '';
}

/** An expiry time of an event's detail, as the emails write times (UTC). */
function untilText(value: unknown): string {
  return typeof value === 'number' ? utcText(value) : 'it expires';
}

type Compose = (facts: NoticeFacts) => NoticeText | null;

/** The events that email the person they are about, by audit event type. */
const NOTICES: Record<string, Compose> = {
  'signin.succeeded': ({ event }) =>
    event.detail.newBrowser !== true
      ? null
      : {
          subject: 'New sign-in to your account',
          happened: ['There was a new sign-in to your account, from a browser that has not signed in to it before.'],
        },
  'signin.code_replayed': (facts) => ({
    subject: 'A used sign-in code was refused',
    happened: [
      `Someone entered a code for the second step of signing in (${methodOf(facts)}) that had already been used. It was refused.`,
    ],
    ifNotYou: [
      `If you were not signing in just then, someone may know your password and have seen one of your codes: change your password at ${facts.accountUrl}/password, check your account at ${facts.accountUrl}, and contact your administrator.`,
    ],
  }),
  'tfa.enrolled': (facts) => ({
    subject: 'Two-step verification was set up for your account',
    happened: [`Two-step verification was set up with this method: ${methodOf(facts)}.`],
  }),
  'tfa.method_added': (facts) => ({
    subject: 'A two-step verification method was added to your account',
    happened: [`This method was added to your two-step verification: ${methodOf(facts)}.`],
  }),
  'tfa.method_removed': (facts) => ({
    subject: 'A two-step verification method was removed from your account',
    happened: [
      `${facts.event.actor ? `${administrator(facts.event)} removed this method` : 'This method was removed'} from your two-step verification: ${methodOf(facts)}.`,
    ],
    ...(facts.event.actor ? { ifNotYou: ifAdministratorDidNot(facts.event, facts) } : {}),
  }),
  'tfa.disabled': (facts) =>
    facts.event.actor
      ? {
          subject: 'An administrator turned off your two-step verification',
          happened: [
            `${administrator(facts.event)} turned off two-step verification for your account. Only your password protects it now.`,
          ],
          ifNotYou: ifAdministratorDidNot(facts.event, facts),
        }
      : {
          subject: 'Two-step verification was turned off for your account',
          happened: ['Two-step verification was turned off. Only your password protects your account now.'],
        },
  'tfa.reset': (facts) => ({
    subject: 'Your two-step verification was reset',
    happened: [
      `${administrator(facts.event)} reset two-step verification for your account.`,
      `Your methods and recovery codes were removed and you were signed out everywhere${facts.event.detail.appPasswordsRevoked === true ? '; your app passwords were revoked' : ''}.`,
      'At your next sign-in you set up two-step verification again.',
    ],
    ifNotYou: ifAdministratorDidNot(facts.event, facts),
  }),
  'recovery_code.used': recoveryCodeUsed,
  'password.changed': () => ({
    subject: 'Your password was changed',
    happened: ['The password of your account was changed.'],
  }),
  'password.reset': () => ({
    subject: 'Your password was reset',
    happened: ['The password of your account was reset with a link sent to this address.'],
  }),
  'access_code.issued': (facts) => ({
    subject: 'A temporary access code was made for your account',
    happened: [
      `${administrator(facts.event)} made a temporary access code for your account. It works once, until ${untilText(facts.event.detail.expiresAt)}, to sign in after your password and set up a new two-step method.`,
      'Your administrator gives it to you directly: it is never sent by email.',
    ],
    ifNotYou: ifAdministratorDidNot(facts.event, facts),
  }),
  'app_password.created': (facts) => ({
    subject: 'A new app password was created for your account',
    happened: [
      `An app password named "${text(facts.event.detail.name)}" was created. It lets a mail or calendar app sign in to your account without the second step${scopesOf(facts.event)}.`,
    ],
    ifNotYou: [
      `If this was not you, revoke it now at ${facts.accountUrl}/app-passwords, change your password, and contact your administrator.`,
    ],
  }),
};

/** The notice of an audit event type, if it has one (own keys only: "constructor" is no event). */
export const noticeFor = (type: string): Compose | undefined =>
  Object.hasOwn(NOTICES, type) ? NOTICES[type] : undefined;
