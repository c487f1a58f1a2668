#!/usr/bin/python3
# oauth2cc - a JWT bearer grant server (RFC 7523 §2.1) for the tests, built on Authlib
# (Debian python3-authlib, python3-flask), on loopback only.
# SPDX-License-Identifier: MIT
#
# Usage: server.py --key-dir DIR [--ttl SECONDS]
#
# The issuer "svc" signs its assertions with a P-256 key (kid "svc-key") whose private
# half is written to DIR/svc.pem (mode 0600). An assertion must be signed by the key of
# its `iss`, name this server's token endpoint in `aud`, carry `exp` and a `jti` never
# seen before (a replay is invalid_grant), and a `sub` among the known users (user-42,
# job-1, job-2, svc). A token is "jb.<sub>.<random>", so that a test can tell whose it
# is; scopes are orders and billing (another is invalid_scope).
#
# Binds 127.0.0.1 on a free port and prints one JSON line on stdout:
#   {"port":N,"url":"http://127.0.0.1:N","issuer":...,"token_endpoint":...}
# GET /_harness/stats counts tokens issued and assertions taken; POST /_harness/reset
# zeroes them. RFC 8414 metadata lists the grant. SIGTERM or SIGINT stops it.

import argparse
import json
import os
import secrets
import signal
import sys
import threading

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.jose import JsonWebKey
from authlib.oauth2.rfc6749 import ClientMixin, InvalidGrantError
from authlib.oauth2.rfc7523 import JWTBearerGrant
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, jsonify
from werkzeug.serving import make_server

JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
# Plain http on loopback: the tests' server has no certificate.
os.environ['AUTHLIB_INSECURE_TRANSPORT'] = '1'

parser = argparse.ArgumentParser()
parser.add_argument('--key-dir', required=True)
parser.add_argument('--ttl', type=int, default=3600)
args = parser.parse_args()

private_key = ec.generate_private_key(ec.SECP256R1())
key_path = os.path.join(args.key_dir, 'svc.pem')
with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as out:
    out.write(private_key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
public_pem = private_key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class Client(ClientMixin):
    def __init__(self, client_id, key, scope):
        self.client_id = client_id
        self.key = key
        self.scope = scope

    def get_client_id(self):
        return self.client_id

    def get_allowed_scope(self, scope):
        allowed = set(self.scope.split())
        return ' '.join(s for s in (scope or '').split() if s in allowed)

    def check_grant_type(self, grant_type):
        return grant_type == JWT_GRANT

    def check_endpoint_auth_method(self, method, endpoint):
        return True


class User:
    def __init__(self, sub):
        self.sub = sub

    def get_user_id(self):
        return self.sub


clients = {'svc': Client('svc', JsonWebKey.import_key(public_pem, {'kty': 'EC', 'kid': 'svc-key'}),
                         'orders billing')}
users = {'user-42', 'job-1', 'job-2', 'svc'}
counters = {'tokens': 0, 'assertions': 0}
seen_jti = set()
lock = threading.Lock()


class Grant(JWTBearerGrant):
    def process_assertion_claims(self, assertion):
        claims = super().process_assertion_claims(assertion)
        jti = claims.get('jti')
        with lock:
            if not jti or jti in seen_jti:
                raise InvalidGrantError(description='the assertion has no jti, or one seen before')
            seen_jti.add(jti)
            counters['assertions'] += 1
        return claims

    def resolve_issuer_client(self, issuer):
        client = clients.get(issuer)
        if client is None:
            raise InvalidGrantError(description='unknown issuer')
        return client

    def resolve_client_key(self, client, headers, payload):
        return client.key

    def authenticate_user(self, subject):
        return User(subject) if subject in users else None

    def has_granted_permission(self, client, user):
        return True


def access_token(client, grant_type, user, scope):
    return 'jb.{}.{}'.format(user.sub if user else client.client_id, secrets.token_hex(12))


def save_token(token, request):
    with lock:
        counters['tokens'] += 1


app = Flask('oauth2cc-authlib-peer')
app.config['OAUTH2_ACCESS_TOKEN_GENERATOR'] = access_token
app.config['OAUTH2_TOKEN_EXPIRES_IN'] = {JWT_GRANT: args.ttl}
app.config['OAUTH2_SCOPES_SUPPORTED'] = ['orders', 'billing']
server = AuthorizationServer(app, query_client=lambda client_id: clients.get(client_id),
                             save_token=save_token)
server.register_grant(Grant)


@app.post('/token')
def token():
    return server.create_token_response()


@app.get('/_harness/stats')
def stats():
    with lock:
        return jsonify(counters)


@app.post('/_harness/reset')
def reset():
    with lock:
        for name in counters:
            counters[name] = 0
    return '', 204


http = make_server('127.0.0.1', 0, app, threaded=True)
issuer = 'http://127.0.0.1:{}'.format(http.server_port)
token_endpoint = issuer + '/token'
# The assertion's audience must be this token endpoint (RFC 7523 §3 item 3).
Grant.CLAIMS_OPTIONS = {
    'iss': {'essential': True},
    'aud': {'essential': True, 'value': token_endpoint},
    'exp': {'essential': True},
}


@app.get('/.well-known/oauth-authorization-server')
def metadata():
    return jsonify({
        'issuer': issuer,
        'token_endpoint': token_endpoint,
        'grant_types_supported': [JWT_GRANT],
        'token_endpoint_auth_methods_supported': ['none', 'client_secret_basic'],
        'scopes_supported': ['orders', 'billing'],
    })


def stop(*_):
    threading.Thread(target=http.shutdown, daemon=True).start()


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
print(json.dumps({'port': http.server_port, 'url': issuer, 'issuer': issuer,
                  'token_endpoint': token_endpoint, 'key': key_path}), flush=True)
http.serve_forever()
sys.exit(0)
