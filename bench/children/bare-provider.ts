/**
 * A bare oidc-provider with Twofold's configuration shape (client_credentials and introspection
 * on, opaque access tokens, RS256 and ES256 signing keys, PKCE required, the default in-memory
 * adapter): the reference Twofold's discovery and introspection are compared with.
 * Arguments: port, then JSON clients [{client_id, client_secret}]. Prints "listening" when ready.
 */
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const clients = JSON.parse(process.argv[3] ?? '[]') as { client_id: string; client_secret: string }[];
const jwk = (type: 'rsa' | 'ec', alg: string) => {
  const { privateKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: alg };
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: clients.map((client) => ({
    ...client,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
  })),
  jwks: { keys: [jwk('rsa', 'RS256'), jwk('ec', 'ES256')] },
  cookies: { keys: ['a-bare-provider-cookie-key-of-32-characters'] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    claimsParameter: { enabled: true },
  },
  scopes: ['openid', 'email', 'profile', 'offline_access', 'imap'],
});
provider.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
