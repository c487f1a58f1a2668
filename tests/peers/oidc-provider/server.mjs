// oauth2cc - a real authorization server (oidc-provider) for the tests, on loopback only.
// SPDX-License-Identifier: MIT
//
// Usage: node server.mjs [--port N] [--ttl SECONDS] [--key-dir DIR]
//                        [--https --cert FILE --key FILE [--client-ca FILE]] [--dpop-nonce]
//
// DPoP (RFC 9449) is on: a token request with a proof gets a DPoP-bound token, and the
// client dpop-client gets no token without one. With --dpop-nonce the token endpoint
// wants a server nonce in every proof (RFC 9449 §8).
//
// With --client-ca, mutual TLS (RFC 8705) is on: the client mtls-client authenticates
// by tls_client_auth with a certificate for CN=basic-client from that CA, and with
// --self-signed-client-cert FILE the client self-signed-mtls-client by that certificate;
// the tokens of both are bound to the certificate.
//
// With --key-dir, it also registers the key-based clients (private_key_jwt with RSA,
// P-256, P-384 and Ed25519 keys, and a workload client whose assertions another party
// signs) and writes their private keys to DIR as PKCS#8 PEM files (mode 0600).
//
// Binds 127.0.0.1 (port 0 picks a free one) and prints one JSON line on stdout:
//   {"port":N,"issuer":"http://127.0.0.1:N","token_endpoint":"...", ...}
// Everything else goes to stderr. SIGTERM or SIGINT stops it.
//
// Token exchange (RFC 8693) is registered through registerGrantType for the clients
// exchange-client (client_secret_basic) and, with --key-dir, the key clients: a subject
// token (and an actor token) must be a JWT signed by this provider's key (its JWT access
// tokens, for two hops) or by the workload platform's key (key-dir/workload.pem, as a
// platform signs a service-account token). The answer names the subject's `sub` and the
// actor's as `act` {sub}: for https://api-N.example.com/ a JWT access token whose `aud` is
// the resource, else an opaque token that introspection knows (with those claims); with
// requested_token_type id_token, an id token of token_type N_A.
//
// GET /_harness/stats returns the token-endpoint counters, so that tests can count
// the requests a client made at the server, and the connections that carried them.
// POST /_harness/reset sets them to zero.
//
// The client rotating-client's secret is --rotating-secret (default rotating-secret-1).
// With --hold-refusals, a token request refused with 401 gets its answer only once
// POST /_harness/release lets it go (counted as `held` meanwhile), so that a test can
// change a client's secret file while the client waits for its refusal.

import {
  X509Certificate, createPublicKey, generateKeyPairSync, randomBytes, sign, verify,
} from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    ttl: { type: 'string', default: '3600' },
    https: { type: 'boolean', default: false },
    cert: { type: 'string' },
    key: { type: 'string' },
    'client-ca': { type: 'string' },
    'key-dir': { type: 'string' },
    'dpop-nonce': { type: 'boolean', default: false },
    'self-signed-client-cert': { type: 'string' },
    'rotating-secret': { type: 'string', default: 'rotating-secret-1' },
    'hold-refusals': { type: 'boolean', default: false },
  },
});

const ttlSeconds = Number.parseInt(args.ttl, 10);
if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
  console.error(`server.mjs: --ttl wants a whole number of seconds, got ${args.ttl}`);
  process.exit(2);
}
if (args.https && (!args.cert || !args.key)) {
  console.error('server.mjs: --https needs --cert and --key');
  process.exit(2);
}

const allScopes = 'read_date post_echo';
const exchangeGrant = 'urn:ietf:params:oauth:grant-type:token-exchange';
const tokenType = (name) => `urn:ietf:params:oauth:token-type:${name}`;

// The workload platform's key pair (see keyClients).
const workloadPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });

// The private_key_jwt clients: a key pair each, the public half registered in the
// client's jwks and the private half written to the key directory for the tests.
function keyClients(dir) {
  if (!dir) return [];
  const pairs = {
    'key-rsa': generateKeyPairSync('rsa', { modulusLength: 2048 }),
    'key-p256': generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    'key-p384': generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    'key-ed25519': generateKeyPairSync('ed25519'),
    // The workload identity issuer's key: it signs the assertions that the tests hand
    // to the library, as a platform signs a projected service-account token.
    workload: workloadPair,
  };
  return Object.entries(pairs).map(([name, { publicKey, privateKey }]) => {
    writeFileSync(path.join(dir, `${name}.pem`),
      privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    return {
      client_id: `${name}-client`,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: name }] },
      scope: allScopes,
      grant_types: ['client_credentials', exchangeGrant],
    };
  });
}

// The mutual-TLS clients, when the server asks for client certificates.
function mtlsClients() {
  if (!args['client-ca']) return [];
  const out = [{
    client_id: 'mtls-client',
    token_endpoint_auth_method: 'tls_client_auth',
    tls_client_auth_subject_dn: 'CN=basic-client',
    tls_client_certificate_bound_access_tokens: true,
    scope: allScopes,
  }];
  if (args['self-signed-client-cert']) {
    const cert = new X509Certificate(readFileSync(args['self-signed-client-cert']));
    out.push({
      client_id: 'self-signed-mtls-client',
      token_endpoint_auth_method: 'self_signed_tls_client_auth',
      jwks: { keys: [{ ...cert.publicKey.export({ format: 'jwk' }), x5c: [cert.raw.toString('base64')] }] },
      tls_client_certificate_bound_access_tokens: true,
      scope: allScopes,
    });
  }
  return out;
}

// The peer certificate of a request's connection, if it presented one.
function peerCertificate(ctx) {
  const cert = ctx.req.socket.getPeerCertificate?.(false);
  return cert && cert.raw ? new X509Certificate(cert.raw) : undefined;
}

// The clients the tests authenticate as. Each secret is a test fixture, not a credential.
const clients = [
  {
    client_id: 'basic-client',
    client_secret: 'basic-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    scope: allScopes,
  },
  {
    client_id: 'post-client',
    client_secret: 'post-secret',
    token_endpoint_auth_method: 'client_secret_post',
    scope: allScopes,
  },
  {
    client_id: 'public-client',
    token_endpoint_auth_method: 'none',
    scope: allScopes,
  },
  {
    // Reserved characters and a space: Basic credentials must be form-encoded
    // (RFC 6749 §2.3.1) before base64, or this client cannot authenticate.
    client_id: 'weird:id+1',
    client_secret: 'se:cr+et% x',
    token_endpoint_auth_method: 'client_secret_basic',
    scope: allScopes,
  },
  {
    client_id: 'read-client',
    client_secret: 'read-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'read_date',
  },
  {
    client_id: 'write-client',
    client_secret: 'write-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    scope: allScopes,
  },
  {
    // It may exchange tokens (RFC 8693) as well.
    client_id: 'exchange-client',
    client_secret: 'exchange-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    scope: allScopes,
    grant_types: ['client_credentials', exchangeGrant],
  },
  {
    // Its secret is the one --rotating-secret gives: a restart with another is a
    // rotation, which a client whose secret file changes must take up.
    client_id: 'rotating-client',
    client_secret: args['rotating-secret'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: allScopes,
  },
  {
    // The resource server's own credentials, for introspection.
    client_id: 'resource-server',
    client_secret: 'resource-server-secret',
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    // Its tokens must be DPoP-bound: a request without a proof is refused.
    client_id: 'dpop-client',
    client_secret: 'dpop-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    dpop_bound_access_tokens: true,
    scope: allScopes,
  },
  {
    // client_secret_jwt: HS256 wants a secret of 32 bytes or more (RFC 7518 §3.2).
    client_id: 'secret-jwt-client',
    client_secret: 'secret-jwt-fixture-0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_jwt',
    scope: allScopes,
  },
  ...keyClients(args['key-dir']),
  ...mtlsClients(),
].map((c) => ({
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  ...c,
}));

// The one resource (RFC 8707) the tests name; its tokens stay opaque so that they can
// be introspected like any other.
const apiResource = 'urn:oauth2cc:test-api';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'provider-key',
};

// --- Token exchange ---------------------------------------------------------------

const b64url = (data) => Buffer.from(data).toString('base64url');

// A JWT signed RS256 by the provider's key.
function signJwt(header, claims) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

// The keys whose JWTs are taken as subject and actor tokens, by their JWS alg.
const trustedKeys = [
  { alg: 'RS256', key: createPublicKey(privateKey) },
  { alg: 'ES256', key: workloadPair.publicKey },
];

// The claims of a JWT signed by a trusted key and not expired; else undefined.
function verifiedClaims(jwt) {
  const parts = typeof jwt === 'string' ? jwt.split('.') : [];
  if (parts.length !== 3) return undefined;
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  } catch {
    return undefined;
  }
  const input = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  const ok = trustedKeys.some(({ alg, key }) => alg === header.alg && verify(
    'sha256', input, alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key, signature,
  ));
  if (!ok || typeof claims.sub !== 'string') return undefined;
  if (typeof claims.exp === 'number' && claims.exp < Date.now() / 1000) return undefined;
  return claims;
}

// The resources a token may be exchanged for: those the resource indicators know.
const exchangeTarget = (value) => value === apiResource
  || /^https:\/\/api-\d+\.example\.com\/$/.test(value);

function tokenExchangeHandler(issuer) {
  return async (ctx) => {
    const { params, client } = ctx.oidc;
    const known = [tokenType('access_token'), tokenType('jwt'), tokenType('id_token')];
    const read = (what) => {
      const value = params[`${what}_token`];
      const type = params[`${what}_token_type`];
      if (!type) throw new errors.InvalidRequest(`missing ${what}_token_type`);
      if (!known.includes(type)) throw new errors.InvalidRequest(`unsupported ${what}_token_type`);
      const claims = verifiedClaims(value);
      if (!claims) throw new errors.InvalidGrant(`the ${what}_token is not valid`);
      return claims;
    };
    if (!params.subject_token) throw new errors.InvalidRequest('missing subject_token');
    const subject = read('subject');
    const actor = params.actor_token ? read('actor') : undefined;
    if (!params.actor_token && params.actor_token_type) {
      throw new errors.InvalidRequest('actor_token_type without actor_token');
    }
    const targets = [params.resource, params.audience].flat().filter(Boolean);
    if (targets.some((t) => !exchangeTarget(t))) throw new errors.InvalidTarget();
    const requested = params.requested_token_type || tokenType('access_token');
    if (![tokenType('access_token'), tokenType('jwt'), tokenType('id_token')].includes(requested)) {
      throw new errors.InvalidRequest('unsupported requested_token_type');
    }
    const scopes = (params.scope || '').split(' ').filter(Boolean);
    const allowed = new Set((client.scope || '').split(' '));
    if (scopes.some((s) => !allowed.has(s))) throw new errors.InvalidScope('a requested scope is not allowed', scopes.join(' '));
    counters.exchanges += 1;
    if (requested === tokenType('id_token')) {
      // Not an access token: token_type N_A (RFC 8693 §2.2.1).
      const now = Math.floor(Date.now() / 1000);
      ctx.body = {
        access_token: signJwt({ alg: 'RS256', typ: 'JWT', kid: 'provider-key' }, {
          iss: issuer, sub: subject.sub, aud: client.clientId, iat: now, exp: now + ttlSeconds,
        }),
        issued_token_type: requested,
        token_type: 'N_A',
        expires_in: ttlSeconds,
      };
      return;
    }
    const target = targets[0];
    if (targets.length > 1) throw new errors.InvalidTarget('one resource or audience at most');
    const exchanged = { sub: subject.sub, ...(actor ? { act: { sub: actor.sub } } : {}) };
    if (target && target !== apiResource) {
      // A per-API resource: a JWT access token whose aud is the resource, which its API
      // verifies by the provider's key.
      const now = Math.floor(Date.now() / 1000);
      ctx.body = {
        access_token: signJwt({ alg: 'RS256', typ: 'at+jwt', kid: 'provider-key' }, {
          iss: issuer,
          aud: target,
          client_id: client.clientId,
          iat: now,
          exp: now + ttlSeconds,
          jti: randomBytes(16).toString('hex'),
          ...(scopes.length ? { scope: scopes.join(' ') } : {}),
          ...exchanged,
        }),
        issued_token_type: requested,
        token_type: 'Bearer',
        expires_in: ttlSeconds,
        ...(scopes.length ? { scope: scopes.join(' ') } : {}),
      };
      return;
    }
    // Else an opaque token of the provider's own, which its introspection knows, with the
    // subject and actor among its claims (extraTokenClaims).
    const token = new ctx.oidc.provider.ClientCredentials({
      client,
      scope: scopes.join(' ') || undefined,
    });
    token.exchanged = exchanged;
    if (target) {
      token.resourceServer = new ctx.oidc.provider.ResourceServer(target, {
        scope: allScopes, audience: target, accessTokenFormat: 'opaque',
      });
    }
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: requested,
      token_type: 'Bearer',
      expires_in: token.expiration,
      ...(scopes.length ? { scope: scopes.join(' ') } : {}),
    };
  };
}

const counters = {
  token_requests: 0, token_success: 0, token_errors: 0, token_connections: 0, exchanges: 0,
  held: 0,
};
// The refusals --hold-refusals keeps until POST /_harness/release.
let heldRefusals = [];
const releaseHeld = () => {
  const waiting = heldRefusals;
  heldRefusals = [];
  waiting.forEach((resolve) => resolve());
};
// The sockets that carried token requests, to count connections (keep-alive).
let tokenSockets = new WeakSet();

const server = args.https
  ? https.createServer({
    cert: readFileSync(args.cert),
    key: readFileSync(args.key),
    ca: args['client-ca'] ? readFileSync(args['client-ca']) : undefined,
    requestCert: Boolean(args['client-ca']),
    rejectUnauthorized: false,
  })
  : http.createServer();

server.listen(Number.parseInt(args.port, 10), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `${args.https ? 'https' : 'http'}://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [signingKey] },
    cookies: { keys: ['oauth2cc-test-cookie-key'] },
    scopes: ['openid', ...allScopes.split(' ')],
    ttl: { ClientCredentials: () => ttlSeconds },
    // The subject and actor of an exchanged token (see tokenExchangeHandler).
    extraTokenClaims: async (ctx, token) => token.exchanged,
    clientAuthMethods: [
      'client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none',
      ...(args['client-ca'] ? ['tls_client_auth', 'self_signed_tls_client_auth'] : []),
    ],
    enabledJWA: {
      clientAuthSigningAlgValues: ['HS256', 'RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
      dPoPSigningAlgValues: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      mTLS: {
        enabled: Boolean(args['client-ca']),
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate: peerCertificate,
        certificateAuthorized: (ctx) => ctx.req.socket.authorized === true,
        certificateSubjectMatches: (ctx, property, expected) => (
          property === 'tls_client_auth_subject_dn' && peerCertificate(ctx)?.subject === expected
        ),
      },
      dPoP: {
        enabled: true,
        nonceSecret: randomBytes(32),
        requireNonce: () => args['dpop-nonce'],
      },
      introspection: {
        enabled: true,
        allowedPolicy: async (ctx, client) => client.clientAuthMethod !== 'none',
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) => (
          client.clientId === 'resource-server' || token.clientId === client.clientId
        ),
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (ctx, resourceIndicator) => {
          // Per-API resources (https://api-N.example.com/) get JWT access tokens whose
          // `aud` is the resource, so that a test can tell whose token it holds.
          if (/^https:\/\/api-\d+\.example\.com\/$/.test(resourceIndicator)) {
            return {
              scope: allScopes,
              accessTokenFormat: 'jwt',
              audience: resourceIndicator,
              jwt: { sign: { alg: 'RS256' } },
            };
          }
          if (resourceIndicator !== apiResource) {
            throw new errors.InvalidTarget();
          }
          return { scope: allScopes, accessTokenFormat: 'opaque', audience: apiResource };
        },
      },
    },
  });

  provider.registerGrantType(
    exchangeGrant,
    tokenExchangeHandler(issuer),
    ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
      'requested_token_type', 'audience', 'resource', 'scope'],
    ['audience', 'resource'],
  );

  provider.use(async (ctx, next) => {
    if (ctx.path === '/_harness/stats' && ctx.method === 'GET') {
      ctx.body = counters;
      return;
    }
    if (ctx.path === '/_harness/reset' && ctx.method === 'POST') {
      Object.keys(counters).forEach((k) => { counters[k] = 0; });
      tokenSockets = new WeakSet();
      ctx.status = 204;
      return;
    }
    if (ctx.path === '/_harness/release' && ctx.method === 'POST') {
      releaseHeld();
      ctx.status = 204;
      return;
    }
    const isTokenRequest = ctx.path === '/token' && ctx.method === 'POST';
    if (isTokenRequest) {
      counters.token_requests += 1;
      if (!tokenSockets.has(ctx.req.socket)) {
        tokenSockets.add(ctx.req.socket);
        counters.token_connections += 1;
      }
    }
    await next();
    if (isTokenRequest) {
      if (ctx.status >= 200 && ctx.status < 300) counters.token_success += 1;
      else counters.token_errors += 1;
      if (ctx.status === 401 && args['hold-refusals']) {
        counters.held += 1;
        await new Promise((resolve) => { heldRefusals.push(resolve); });
        counters.held -= 1;
      }
    }
  });

  server.on('request', provider.callback());

  const discovery = {
    port,
    issuer,
    token_endpoint: `${issuer}/token`,
    introspection_endpoint: `${issuer}/token/introspection`,
    revocation_endpoint: `${issuer}/token/revocation`,
    resource: apiResource,
    ttl: ttlSeconds,
  };
  process.stdout.write(`${JSON.stringify(discovery)}\n`);
});

const stop = () => {
  releaseHeld();
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
