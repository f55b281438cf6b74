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
  grace_not_applicable: { status: 409, message: 'This person has no enrolment deadline to change.' },
  invalid_deadline: { status: 400, message: 'Some details need fixing.' },
});
