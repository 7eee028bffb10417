// A defect-injecting OpenID Provider for Latchkey's federation tests: small, ours, and
// wrong on purpose. One process serves many providers, one per "case", each under its
// own issuer path, so that every connector instance of a test portal talks to a provider
// with exactly one quirk:
//
//   issuer  http://127.0.0.1:<port>/<case>
//
// Each provider runs the authorization code flow with PKCE (S256) for one confidential
// client, approves every request at once (no login or consent page: /authorize redirects
// straight back with a code), and signs ID tokens with node:crypto only (RS256, ES256,
// HS256), so its defects are exact. Its account is always the same person:
//   sub "fake-user", name "Fake User (<case>)", email "<case>@example.test" (verified).
//
//   CLIENT_ID=latchkey CLIENT_SECRET=secret node fake-op.mjs
//
// Environment:
//   CLIENT_ID, CLIENT_SECRET  the client (default latchkey / secret); client_secret_basic
//                             or client_secret_post
//   PORT                      the port to listen on (default: a free one)
//   EXIT_WITH_STDIN=1         exit when stdin closes (so the OP never outlives its test)
//
// Prints exactly one line to stdout once it accepts connections:
//   OP listening on http://127.0.0.1:<port>
// and logs one line per request to stderr.
//
// Per case, besides the provider's own endpoints:
//   POST /<case>/control/rotate  the provider's next signing key (case key-rotation:
//                                the JWKS then publishes only the new key)
//   GET  /<case>/control/stats   how often each endpoint was asked, as JSON
//
// The cases (CASES below): "good" behaves; the defects must be refused by a relying
// party; the tolerances are legal quirks a relying party must accept.

import http from 'node:http';
import crypto from 'node:crypto';

const clientId = process.env.CLIENT_ID || 'latchkey';
const clientSecret = process.env.CLIENT_SECRET || 'secret';
const wantedPort = Number.parseInt(process.env.PORT ?? '0', 10) || 0;

// ------------------------------------------------------------------ keys and JOSE

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function rsaKey(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg: 'RS256', privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
}

function ecKey(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg: 'ES256', privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'ES256' } };
}

const KEY1 = rsaKey('key-1');
const KEY2 = rsaKey('key-2');
const EC1 = ecKey('ec-1');
// Never published: what a forger signs with.
const STRANGER = rsaKey('key-1');

/** A compact JWS of `claims` with `header`, signed as `header.alg` says. */
function sign(header, claims, key) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  let signature;
  switch (header.alg) {
    case 'none':
      signature = Buffer.alloc(0);
      break;
    case 'RS256':
      signature = crypto.sign('sha256', Buffer.from(input), key.privateKey);
      break;
    case 'ES256':
      signature = crypto.sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'HS256':
      // The client secret as an HMAC key: the "key confusion" a relying party must refuse.
      signature = crypto.createHmac('sha256', clientSecret).update(input).digest();
      break;
    default:
      throw new Error(`fake-op cannot sign ${header.alg}`);
  }
  return `${input}.${b64url(signature)}`;
}

/** `at_hash`: the left half of SHA-256 of the access token. */
const atHash = (accessToken) => b64url(crypto.createHash('sha256').update(accessToken).digest().subarray(0, 16));

// ------------------------------------------------------------------ the cases

// Each case may change: the discovery document, the JWKS, the ID token's header, claims
// and signing key, and the UserInfo answer. `op` is the case's state ({ issuer, rotated }).
const CASES = {
  // The control: everything as it should be.
  good: {},

  // Defects: each must be refused.
  'discovery-issuer-mismatch': { discovery: (d, op) => ({ ...d, issuer: `${op.issuer}-impostor` }) },
  'wrong-iss': { claims: (c, op) => ({ ...c, iss: `${op.issuer}-impostor` }) },
  'wrong-aud': { claims: (c) => ({ ...c, aud: 'another-client' }) },
  'wrong-nonce': { claims: (c) => ({ ...c, nonce: b64url(crypto.randomBytes(16)) }) },
  'bad-signature': { key: () => STRANGER },
  'alg-none': { header: () => ({ alg: 'none', typ: 'JWT' }) },
  expired: {
    claims: (c) => ({ ...c, iat: c.iat - 7200, auth_time: c.iat - 7200, exp: c.iat - 3600 }),
  },
  'missing-kid': {
    jwks: () => [KEY1.jwk, KEY2.jwk],
    header: (h) => ({ alg: h.alg, typ: 'JWT' }),
  },
  'userinfo-sub-mismatch': { userinfo: (u) => ({ ...u, sub: 'someone-else' }) },
  'hs256-with-client-secret': { header: (h) => ({ alg: 'HS256', typ: 'JWT', kid: h.kid }) },
  'several-audiences-no-azp': { claims: (c) => ({ ...c, aud: [clientId, 'another-client'] }) },

  // Tolerances: each must still log on.
  'email-verified-string': {
    claims: (c) => ({ ...c, email_verified: 'true' }),
    userinfo: (u) => ({ ...u, email_verified: 'true' }),
  },
  'aud-array-with-azp': { claims: (c) => ({ ...c, aud: [clientId, 'another-client'], azp: clientId }) },
  'jwks-keys-without-alg': {
    jwks: () => [KEY1.jwk, KEY2.jwk].map(({ alg, use, ...rest }) => rest),
  },
  es256: { jwks: () => [EC1.jwk, KEY2.jwk], key: () => EC1 },
  // Signs with key-1 (the JWKS: key-1) until /control/rotate, then with key-2 (the JWKS:
  // key-2 only), so a relying party that cached the old JWKS must fetch it again.
  'key-rotation': {
    jwks: (op) => [op.rotated ? KEY2.jwk : KEY1.jwk],
    key: (op) => (op.rotated ? KEY2 : KEY1),
  },
};

const ops = new Map(); // case -> { issuer, rotated, stats }

// ------------------------------------------------------------------ HTTP

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(wantedPort, '127.0.0.1', resolve);
});
const { port } = server.address();
const origin = `http://127.0.0.1:${port}`;
for (const name of Object.keys(CASES)) {
  ops.set(name, {
    name,
    issuer: `${origin}/${name}`,
    rotated: false,
    stats: { discovery: 0, authorize: 0, token: 0, userinfo: 0, jwks: 0 },
  });
}

const codes = new Map(); // code -> the authorization request it answers
const accessTokens = new Map(); // access token -> { case, expires }

function send(res, status, body, headers = {}) {
  const isJson = typeof body !== 'string';
  res.writeHead(status, {
    'content-type': isJson ? 'application/json' : 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(isJson ? JSON.stringify(body) : body);
}

const oauthError = (res, status, error, description) =>
  send(res, status, { error, error_description: description });

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

const now = () => Math.floor(Date.now() / 1000);

function discovery(op) {
  const iss = op.issuer;
  const doc = {
    issuer: iss,
    authorization_endpoint: `${iss}/authorize`,
    token_endpoint: `${iss}/token`,
    userinfo_endpoint: `${iss}/userinfo`,
    jwks_uri: `${iss}/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: ['openid', 'profile', 'email'],
  };
  const tweak = CASES[op.name].discovery;
  return tweak ? tweak(doc, op) : doc;
}

function jwks(op) {
  const tweak = CASES[op.name].jwks;
  return { keys: tweak ? tweak(op) : [KEY1.jwk] };
}

function person(op) {
  return {
    sub: 'fake-user',
    name: `Fake User (${op.name})`,
    email: `${op.name}@example.test`,
    email_verified: true,
  };
}

function authorize(op, url, res) {
  const q = url.searchParams;
  const redirectUri = q.get('redirect_uri');
  let redirect;
  try {
    redirect = new URL(redirectUri);
  } catch {
    return send(res, 400, `fake-op: bad redirect_uri ${JSON.stringify(redirectUri)}`);
  }
  // Errors a relying party's request could cause: shown at the OP, as a real one would.
  const problems = [];
  if (q.get('client_id') !== clientId) problems.push(`client_id ${q.get('client_id')}`);
  if (q.get('response_type') !== 'code') problems.push(`response_type ${q.get('response_type')}`);
  if (!(q.get('scope') || '').split(' ').includes('openid')) problems.push('scope lacks openid');
  if (!q.get('state')) problems.push('no state');
  if (!q.get('nonce')) problems.push('no nonce');
  if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) problems.push('no PKCE S256');
  if (problems.length) return send(res, 400, `fake-op refuses the authorization request: ${problems.join(', ')}`);

  const code = b64url(crypto.randomBytes(24));
  codes.set(code, {
    case: op.name,
    redirectUri,
    nonce: q.get('nonce'),
    challenge: q.get('code_challenge'),
    expires: now() + 300,
  });
  redirect.searchParams.set('code', code);
  redirect.searchParams.set('state', q.get('state'));
  res.writeHead(303, { location: redirect.toString(), 'cache-control': 'no-store' });
  res.end();
}

async function token(op, req, res) {
  const form = new URLSearchParams(await readBody(req));
  let id = form.get('client_id');
  let secret = form.get('client_secret');
  const auth = req.headers.authorization || '';
  if (auth.startsWith('Basic ')) {
    if (id || secret) return oauthError(res, 400, 'invalid_request', 'two client authentication methods');
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    id = decodeURIComponent(decoded.slice(0, colon));
    secret = decodeURIComponent(decoded.slice(colon + 1));
  }
  if (id !== clientId || secret !== clientSecret) return oauthError(res, 401, 'invalid_client', 'client authentication failed');
  if (form.get('grant_type') !== 'authorization_code') return oauthError(res, 400, 'unsupported_grant_type', form.get('grant_type'));
  const code = form.get('code') || '';
  const grant = codes.get(code);
  codes.delete(code); // single use, whatever happens next
  if (!grant || grant.case !== op.name || grant.expires < now()) return oauthError(res, 400, 'invalid_grant', 'unknown, used or expired code');
  if (form.get('redirect_uri') !== grant.redirectUri) return oauthError(res, 400, 'invalid_grant', 'redirect_uri differs');
  const verifier = form.get('code_verifier') || '';
  if (b64url(crypto.createHash('sha256').update(verifier).digest()) !== grant.challenge) {
    return oauthError(res, 400, 'invalid_grant', 'PKCE verifier does not match');
  }

  const c = CASES[op.name];
  const accessToken = b64url(crypto.randomBytes(24));
  accessTokens.set(accessToken, { case: op.name, expires: now() + 300 });
  const key = c.key ? c.key(op) : KEY1;
  let header = { alg: key.alg, typ: 'JWT', kid: key.kid };
  if (c.header) header = c.header(header, op);
  const t = now();
  let claims = {
    ...person(op),
    iss: op.issuer,
    aud: clientId,
    iat: t,
    auth_time: t,
    exp: t + 300,
    nonce: grant.nonce,
    at_hash: atHash(accessToken),
  };
  if (c.claims) claims = c.claims(claims, op);
  send(res, 200, {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: 300,
    scope: 'openid profile email',
    id_token: sign(header, claims, key),
  });
}

function userinfo(op, req, res) {
  const auth = req.headers.authorization || '';
  const held = auth.startsWith('Bearer ') ? accessTokens.get(auth.slice(7)) : undefined;
  if (!held || held.case !== op.name || held.expires < now()) {
    return send(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
  const tweak = CASES[op.name].userinfo;
  send(res, 200, tweak ? tweak(person(op), op) : person(op));
}

server.on('request', async (req, res) => {
  const url = new URL(req.url, origin);
  console.error(`fake-op ${req.method} ${url.pathname}`);
  const [, name, ...rest] = url.pathname.split('/');
  const op = ops.get(name);
  if (!op) return send(res, 404, `fake-op: no case ${JSON.stringify(name)}`);
  const route = `${req.method} /${rest.join('/')}`;
  try {
    switch (route) {
      case 'GET /.well-known/openid-configuration':
        op.stats.discovery++;
        return send(res, 200, discovery(op));
      case 'GET /jwks':
        op.stats.jwks++;
        return send(res, 200, jwks(op));
      case 'GET /authorize':
        op.stats.authorize++;
        return authorize(op, url, res);
      case 'POST /token':
        op.stats.token++;
        return await token(op, req, res);
      case 'GET /userinfo':
        op.stats.userinfo++;
        return userinfo(op, req, res);
      case 'POST /control/rotate':
        op.rotated = true;
        return send(res, 200, { rotated: true });
      case 'GET /control/stats':
        return send(res, 200, op.stats);
      default:
        return send(res, 404, `fake-op: no route ${route} for case ${name}`);
    }
  } catch (e) {
    console.error('fake-op error:', e);
    if (!res.headersSent) send(res, 500, { error: 'server_error' });
  }
});

if (process.env.EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}

process.stdout.write(`OP listening on ${origin}\n`);
