import { errorCatalogue } from './errors.ts';

/** The domain's refusals, each with its one status (people, organizations, setup, clients, methods). */
export const domainErrors = errorCatalogue({
  invalid_user: { status: 400, message: 'Some details need fixing.' },
  invalid_organization: { status: 400, message: 'Some details need fixing.' },
  invalid_setup: { status: 400, message: 'Some details need fixing.' },
  invalid_client_metadata: { status: 400, message: 'The client registration is not valid.' },
  unknown_organization: { status: 404, message: 'There is no such organization.' },
  setup_link_invalid: {
    status: 410,
    message: 'This setup link has expired or was already used. Run "twofold setup-link" on the server for a new one.',
  },
  wrong_password: { status: 400, message: 'Your current password is not right.' },
  weak_password: { status: 400, message: 'Choose another password.' },
  same_password: { status: 400, message: 'Choose another password.' },
  throttled: { status: 429, message: 'Too many failed attempts. Wait a moment, then try again.' },
  unknown_method: { status: 404, message: 'That method is not on your account.' },
  unknown_browser: { status: 404, message: 'That browser is not trusted any more.' },
  tfa_required: { status: 409, message: 'Your organization requires two-step verification.' },
  tfa_off: { status: 409, message: 'Recovery codes come with two-step verification. Add a method first.' },
  app_passwords_off: { status: 403, message: 'App passwords are not available for this account.' },
  invalid_app_password: { status: 400, message: 'Some details need fixing.' },
  unknown_app_password: { status: 404, message: 'That app password does not exist any more.' },
  unknown_person: { status: 404, message: 'There is no such person in your organization.' },
  invalid_policy: { status: 400, message: 'Some settings need fixing.' },
  invalid_access_code_lifetime: { status: 400, message: 'Choose how long the code works: 15 minutes to 24 hours.' },
  link_invalid: { status: 410, message: 'This link has expired or was already used.' },
  link_unavailable: { status: 409, message: 'A password reset link cannot be sent to this person.' },
  not_invited: { status: 409, message: 'This person has already accepted their invitation.' },
  email_taken: { status: 409, message: 'This email address already has an account.' },
  account_disabled: { status: 403, message: 'This account is disabled. Contact your administrator.' },
  last_admin: {
    status: 409,
    message: 'This is the only administrator who can sign in. Make someone else an administrator first.',
  },
  self_lockout: { status: 409, message: 'You cannot lock yourself out. Another administrator can make this change.' },
});
