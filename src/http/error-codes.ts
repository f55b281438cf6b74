import { errorCatalogue } from '../domain/errors.ts';

/** What the pages and endpoints refuse before the domain is asked, each code with its one status. */
export const httpErrors = errorCatalogue({
  invalid_form: { status: 400, message: 'The form could not be read. Reload the page and try again.' },
  invalid_request: { status: 400, message: 'The request could not be understood.' },
  csrf_failed: {
    status: 403,
    message: 'This form has expired or was not sent from this site. Go back, reload the page and try again.',
  },
  interaction_expired: {
    status: 400,
    message: 'This sign-in page has expired. Go back to the application you came from and start again.',
  },
  wrong_step: {
    status: 400,
    message: 'This step of sign-in is already done. Go back to the application and start again.',
  },
  login_expired: { status: 400, message: 'This sign-in has expired. Open your account page again.' },
  login_failed: { status: 400, message: 'Sign-in did not complete. Open your account page again.' },
  account_gone: { status: 404, message: 'This account no longer exists.' },
  unknown_session: { status: 404, message: 'That session has already ended.' },
  method_unavailable: { status: 400, message: 'That method is not available. Choose another one.' },
  already_enrolled: {
    status: 409,
    message: 'Two-step verification is already set up. Go back to the application and sign in again.',
  },
  busy: { status: 429, message: 'Another attempt is being checked. Try again in a moment.' },
  not_admin: { status: 403, message: "The admin console is for your organization's administrators." },
  not_admin_api: { status: 403, message: "The admin API is for your organization's administrators." },
});
