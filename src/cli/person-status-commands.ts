import type { TwofoldApp } from '../app.ts';
import { UsageError } from './usage-error.ts';
import { required, type Command, type Values } from './values.ts';

/** The person with this email, and their organization. */
async function personOf(app: TwofoldApp, values: Values) {
  const email = required(values, 'email');
  const found = await app.stores.users.findUserByEmail(email);
  if (!found) throw new UsageError(`there is no user with email ${email}`);
  return {
    org: found.organization,
    person: { orgId: found.organization.id, userId: found.user.id, email: found.user.email },
  };
}

const userDisable: Command = {
  name: 'user disable',
  usage:
    'twofold user disable --email <email>: stop a person signing in (password, passkeys, app passwords) and end every session and token they have; refused for the last administrator who can sign in.',
  options: ['email'],
  async run({ values, openApp }) {
    const app = await openApp();
    const { org, person } = await personOf(app, values);
    const ended = await app.services.personStatus.disable(org, person, { actor: 'cli' });
    const text = ended.changed
      ? `disabled ${person.email}: ${ended.sessions} session${ended.sessions === 1 ? '' : 's'} and ${ended.grants} grant${ended.grants === 1 ? '' : 's'} ended`
      : `${person.email} was already disabled`;
    return { text, json: { email: person.email, disabled: true, ...ended } };
  },
};

const userEnable: Command = {
  name: 'user enable',
  usage:
    'twofold user enable --email <email>: let a disabled person sign in again with the password and methods they had.',
  options: ['email'],
  async run({ values, openApp }) {
    const app = await openApp();
    const { org, person } = await personOf(app, values);
    const changed = await app.services.personStatus.enable(org, person, { actor: 'cli' });
    return {
      text: changed ? `enabled ${person.email}` : `${person.email} was not disabled`,
      json: { email: person.email, disabled: false, changed },
    };
  },
};

/** Disabling and enabling people from the command line (DESIGN §4). */
export const PERSON_STATUS_COMMANDS: Command[] = [userDisable, userEnable];
