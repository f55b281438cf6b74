/** A form read out of one of our pages: where it posts and the fields a browser would send. */
export interface ScrapedForm {
  method: string;
  action: string;
  fields: Array<[string, string]>;
}

const attr = (tag: string, name: string) =>
  new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1]?.replaceAll('&amp;', '&').replaceAll('&#34;', '"');

/** Every form of `html`: inputs (checked boxes only), the first option of each select, textareas, named buttons. */
export function scrapeForms(html: string, pageUrl: URL): ScrapedForm[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map(([, open, inner]) => {
    const fields: Array<[string, string]> = [];
    for (const [tag] of inner!.matchAll(/<(input|button)\b[^>]*>/g)) {
      const name = attr(tag, 'name');
      if (!name) continue;
      const type = attr(tag, 'type') ?? 'text';
      if ((type === 'checkbox' || type === 'radio') && !/\schecked\b/.test(tag)) continue;
      if (tag.startsWith('<button') && fields.some(([n]) => n === name)) continue;
      fields.push([name, attr(tag, 'value') ?? (type === 'checkbox' ? 'on' : 'x')]);
    }
    for (const [, open2, options] of inner!.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/g)) {
      const name = attr(open2!, 'name');
      const first = /<option\b[^>]*value="([^"]*)"/.exec(options!)?.[1];
      if (name) fields.push([name, first ?? '']);
    }
    for (const [, open2, text] of inner!.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/g)) {
      const name = attr(open2!, 'name');
      if (name) fields.push([name, text!]);
    }
    const action = new URL(attr(open!, 'action') ?? pageUrl.pathname, pageUrl);
    return { method: (attr(open!, 'method') ?? 'get').toUpperCase(), action: action.pathname, fields };
  });
}

/** `/interaction/:uid/verify/:kind` as a pattern that matches concrete paths. */
export function routePattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * Fields the JSON APIs and the provider's endpoints read, where no page of ours has a form for
 * them (RFC 6749 §4.1.3 and §6, RFC 7662 §2.1, RFC 7009 §2.1, OIDC Core §3.1.2.1, RP-Initiated Logout §2).
 */
export const KNOWN_FIELDS: Record<string, string[]> = {
  'PUT /api/account/preferred-method': ['method_id'],
  'GET /api/admin/people': ['q', 'status', 'page'],
  'PATCH /api/admin/organization': [
    'name',
    'enforce_tfa',
    'trusted_browser_days',
    'session_max_hours',
    'allowed_methods',
  ],
  'PUT /api/admin/people/:id/role': ['role'],
  'POST /api/admin/people/:id/access-code': ['lifetime_minutes'],
  'PUT /api/admin/people/:id/enrolment-deadline': ['date'],
  'POST /api/admin/invitations': ['email', 'name', 'role'],
  'POST /api/admin/people/:id/tfa/reset': ['keep_app_passwords'],
  'GET /api/admin/events': ['type', 'person', 'from', 'to', 'before', 'after'],
  'GET /admin/activity': ['type', 'person', 'from', 'to', 'before', 'after'],
  'GET /admin/activity/export': ['type', 'person', 'from', 'to', 'format'],
  'GET /account/activity': ['type', 'before', 'after'],
  'GET /admin/people': ['q', 'status', 'page'],
  'GET /account/callback': ['code', 'state', 'iss', 'error', 'error_description'],
  'GET /forgot-password': ['from'],
  'GET /reset-password': ['token'],
  'GET /invitation': ['token'],
  'GET /setup': ['token'],
  'GET /forward-auth': ['x'],
  'GET /auth': [
    'client_id',
    'response_type',
    'scope',
    'redirect_uri',
    'state',
    'nonce',
    'code_challenge',
    'code_challenge_method',
    'prompt',
    'max_age',
    'acr_values',
    'claims',
    'ui_locales',
    'login_hint',
    'request',
    'request_uri',
  ],
  'POST /token': ['grant_type', 'username', 'password', 'scope', 'client_id', 'client_secret'],
  'POST /token/introspection': ['token', 'token_type_hint', 'client_id', 'client_secret'],
  'POST /token/revocation': ['token', 'token_type_hint', 'client_id', 'client_secret'],
  'GET /session/end': ['id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id', 'logout_hint', 'ui_locales'],
  'GET /me': ['access_token'],
  'POST /request': [
    'client_id',
    'client_secret',
    'response_type',
    'scope',
    'redirect_uri',
    'code_challenge',
    'code_challenge_method',
    'request',
  ],
};

/** What every route gets besides its own fields: names our forms use somewhere. */
export const GENERIC_FIELDS = ['email', 'code', 'factorId', 'name'];
