// oauth2cc - a second real authorization server for the tests, of another lineage than
// oidc-provider: @node-oauth/oauth2-server with a small in-memory model, on loopback only.
// SPDX-License-Identifier: MIT
//
// Usage: node server.mjs [--port N] [--ttl SECONDS]
//
// Binds 127.0.0.1 (port 0 picks a free one) and prints one JSON line on stdout:
//   {"port":N,"issuer":"http://127.0.0.1:N","token_endpoint":"...","ttl":N}
// Everything else goes to stderr. SIGTERM or SIGINT stops it.
//
// This server takes HTTP Basic credentials as they are after base64, without the
// form-decoding RFC 6749 §2.3.1 asks for, as many servers do: clients whose
// credentials hold reserved characters must use raw Basic or client_secret_post here.
//
// GET /_harness/stats returns the token-endpoint counters; POST /_harness/reset zeroes them.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import OAuth2Server from '@node-oauth/oauth2-server';

const { Request, Response } = OAuth2Server;

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    ttl: { type: 'string', default: '3600' },
  },
});

const ttlSeconds = Number.parseInt(args.ttl, 10);
if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
  console.error(`server.mjs: --ttl wants a whole number of seconds, got ${args.ttl}`);
  process.exit(2);
}

// The clients the tests authenticate as. Each secret is a test fixture, not a credential.
const clients = [
  { id: 'basic-client', secret: 'basic-secret', scopes: ['read_date', 'post_echo'] },
  { id: 'post-client', secret: 'post-secret', scopes: ['read_date', 'post_echo'] },
  // A space, '+' and '%' in the id and a ':' in the secret: raw Basic carries them as they
  // are, form-encoded Basic does not match here.
  { id: 'odd id+1', secret: 'se:cr+et% x', scopes: ['read_date', 'post_echo'] },
  { id: 'read-client', secret: 'read-secret', scopes: ['read_date'] },
];

const tokens = new Map();

const model = {
  async getClient(clientId, clientSecret) {
    const c = clients.find((x) => x.id === clientId);
    if (!c || c.secret !== clientSecret) return null;
    return { id: c.id, grants: ['client_credentials'], accessTokenLifetime: ttlSeconds, scopes: c.scopes };
  },
  async getUserFromClient(client) {
    return { id: `service:${client.id}` };
  },
  async validateScope(user, client, scope) {
    const asked = scope ?? [];
    if (!asked.every((s) => client.scopes.includes(s))) return false;
    return asked.length ? asked : client.scopes;
  },
  async saveToken(token, client, user) {
    const saved = { ...token, client, user };
    tokens.set(token.accessToken, saved);
    return saved;
  },
  async getAccessToken(accessToken) {
    return tokens.get(accessToken) ?? null;
  },
  async generateAccessToken() {
    return randomBytes(24).toString('base64url');
  },
};

const oauth = new OAuth2Server({ model, accessTokenLifetime: ttlSeconds, allowExtendedTokenAttributes: false });

const counters = { token_requests: 0, token_success: 0, token_errors: 0 };

const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > 65536) reject(new Error('body too large'));
    else chunks.push(c);
  });
  req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  req.on('error', reject);
});

const send = (res, status, headers, body) => {
  res.writeHead(status, headers);
  res.end(body);
};

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/_harness/stats' && req.method === 'GET') {
      send(res, 200, { 'Content-Type': 'application/json' }, JSON.stringify(counters));
      return;
    }
    if (url.pathname === '/_harness/reset' && req.method === 'POST') {
      Object.keys(counters).forEach((k) => { counters[k] = 0; });
      send(res, 204, {}, '');
      return;
    }
    if (url.pathname !== '/token' || req.method !== 'POST') {
      send(res, 404, { 'Content-Type': 'application/json' }, '{"error":"not_found"}');
      return;
    }
    counters.token_requests += 1;
    const text = await readBody(req);
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const body = type === 'application/x-www-form-urlencoded'
      ? Object.fromEntries(new URLSearchParams(text)) : {};
    const request = new Request({
      method: req.method, query: {}, headers: req.headers, body,
    });
    const response = new Response({ headers: {} });
    try {
      await oauth.token(request, response);
      counters.token_success += 1;
    } catch (e) {
      counters.token_errors += 1;
      if (!response.body || !response.body.error) {
        response.status = e.code ?? 500;
        response.body = { error: e.name ?? 'server_error', error_description: e.message };
      }
    }
    send(res, response.status, { ...response.headers, 'Content-Type': 'application/json' },
      JSON.stringify(response.body));
  } catch (e) {
    send(res, 500, { 'Content-Type': 'application/json' }, '{"error":"server_error"}');
  }
});

server.listen(Number.parseInt(args.port, 10), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  process.stdout.write(`${JSON.stringify({
    port, issuer, token_endpoint: `${issuer}/token`, ttl: ttlSeconds,
  })}\n`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
