// A real OpenID Provider for Latchkey's federated logon tests: oidc-provider (certified)
// with its development interactions (a login form that accepts any login and password,
// then a consent form).
//
//   CLIENT_ID=latchkey CLIENT_SECRET=secret \
//   REDIRECT_URI=http://127.0.0.1:8080/connectors/corp/callback node op.mjs
//
// Environment:
//   CLIENT_ID, CLIENT_SECRET  the one confidential client (client_secret_basic)
//   REDIRECT_URI              its redirect URI; several may be given, separated by spaces
//   PORT                      the port to listen on (default: a free one)
//   EXIT_WITH_STDIN=1         exit when stdin closes (so the OP never outlives its test)
//
// Prints exactly one line to stdout once it accepts connections:
//   OP listening on http://127.0.0.1:<port>
// Everything else (oidc-provider's warnings, request errors) goes to stderr.
//
// Accounts: any login name is an account; its claims are
//   { sub: id, email: `${id}@example.test`, email_verified: true, name: `User ${id}` }.

import http from 'node:http';

// stdout carries the one ready line: send oidc-provider's notices (console.info) and
// anything else chatty to stderr. Set before the provider module is loaded.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

const { default: Provider } = await import('oidc-provider');

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`op.mjs: set ${name}`);
    process.exit(2);
  }
  return value;
}

const clientId = need('CLIENT_ID');
const clientSecret = need('CLIENT_SECRET');
const redirectUris = need('REDIRECT_URI').split(/\s+/).filter(Boolean);
const wantedPort = Number.parseInt(process.env.PORT ?? '0', 10) || 0;

// The issuer must be known before the provider exists: listen first, then attach.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(wantedPort, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  // PKCE for every client, not only public ones (Latchkey always sends S256).
  pkce: { required: () => true },
  cookies: { keys: ['latchkey-test-op-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example.test`,
          email_verified: true,
          name: `User ${id}`,
        };
      },
    };
  },
  // devInteractions stay on (the default): /interaction/<uid> serves the forms.
});

provider.on('server_error', (ctx, err) => console.error('op server_error:', err));
provider.on('grant.error', (ctx, err) => console.error('op grant.error:', err.message, err.error_description ?? ''));

server.on('request', provider.callback());

if (process.env.EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}

process.stdout.write(`OP listening on ${issuer}\n`);
