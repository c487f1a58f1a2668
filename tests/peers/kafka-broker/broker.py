#!/usr/bin/python3
# oauth2cc - a fake Kafka broker for the tests of oauth2cc/kafka.hpp: the SASL/OAUTHBEARER
# part of the Kafka protocol and enough of the rest for a produce to complete, on loopback.
# SPDX-License-Identifier: MIT
#
# Usage: broker.py --introspection-endpoint URL --client-id ID --client-secret-file FILE
#                  [--audience AUD] [--require-extension KEY=VALUE]... [--close-after-produce]
#
# --close-after-produce closes each connection once it answered a produce, so that the
# next produce connects and authenticates again, with the client's token of that moment.
#
# Debian has no Kafka broker, and librdkafka's mock cluster checks nothing of a token. This
# broker speaks the wire protocol (big-endian, size-prefixed frames; request header v1) for
# the non-flexible versions it advertises: ApiVersions v0, SaslHandshake v0-1 (OAUTHBEARER
# only), SaslAuthenticate v0-1, Metadata v0-4 and Produce v0-7. A client asking for
# ApiVersions v3 first is answered UNSUPPORTED_VERSION with the v0 list (KIP-511), and asks
# again with v0. Before a connection authenticated, any other request closes it.
#
# SaslAuthenticate carries the RFC 7628 client response "n,,\x01auth=Bearer T\x01k=v\x01\x01".
# The token is checked by RFC 7662 introspection at the authorization server (as the
# client ID, Basic): it must be active, name AUD in `aud` when --audience is given, and come
# with each --require-extension. Otherwise: SASL_AUTHENTICATION_FAILED (58).
#
# Prints one JSON line on stdout once it serves:
#   {"port":H,"url":"http://127.0.0.1:H","kafka_port":K,"bootstrap":"127.0.0.1:K"}
# GET /_harness/stats on the HTTP port answers what it saw: {"authentications":[{"ok",
# "client_id","sub","aud","extensions","gs2","token","reason"}...],"records":N,"produce_requests":N,
# "refused_before_auth":N}; "gs2" is the client response's GS2 header ("n,," or
# "n,a=AUTHZID,"), "token" the first 16 hex digits of the token's SHA-256. SIGTERM or SIGINT stops it.

import argparse
import base64
import hashlib
import json
import signal
import socket
import socketserver
import struct
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_PRODUCE, API_METADATA, API_SASL_HANDSHAKE, API_VERSIONS, API_SASL_AUTHENTICATE = 0, 3, 17, 18, 36
SUPPORTED = {API_PRODUCE: (0, 7), API_METADATA: (0, 4), API_SASL_HANDSHAKE: (0, 1),
             API_VERSIONS: (0, 0), API_SASL_AUTHENTICATE: (0, 1)}
UNSUPPORTED_VERSION, SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM = 35, 58, 33
NODE_ID = 1

stats_lock = threading.Lock()
stats = {'authentications': [], 'records': 0, 'produce_requests': 0, 'refused_before_auth': 0}


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        value = struct.unpack_from('>' + fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize('>' + fmt)
        return value

    def string(self):
        n = self.take('h')
        if n < 0:
            return None
        value = self.data[self.pos:self.pos + n].decode('utf-8')
        self.pos += n
        return value

    def bytes(self):
        n = self.take('i')
        if n < 0:
            return None
        value = self.data[self.pos:self.pos + n]
        self.pos += n
        return value

    def array(self, item):
        n = self.take('i')
        return None if n < 0 else [item() for _ in range(n)]


def i16(v): return struct.pack('>h', v)
def i32(v): return struct.pack('>i', v)
def i64(v): return struct.pack('>q', v)
def string(s): return i16(-1) if s is None else i16(len(s.encode())) + s.encode()
def bytes_(b): return i32(-1) if b is None else i32(len(b)) + b
def array(items): return i32(len(items)) + b''.join(items)


def api_versions_body(error):
    return i16(error) + array([i16(k) + i16(lo) + i16(hi) for k, (lo, hi) in sorted(SUPPORTED.items())])


def introspect(args, token):
    form = urllib.parse.urlencode({'token': token}).encode()
    basic = base64.b64encode(f'{args.client_id}:{args.client_secret}'.encode()).decode()
    req = urllib.request.Request(args.introspection_endpoint, data=form, headers={
        'Authorization': 'Basic ' + basic, 'Content-Type': 'application/x-www-form-urlencoded'})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())


def authenticate(args, auth_bytes):
    """(ok, record) for an RFC 7628 client response."""
    record = {'ok': False, 'client_id': None, 'sub': None, 'aud': None, 'extensions': {},
              'gs2': None, 'reason': ''}
    parts = auth_bytes.decode('utf-8', 'replace').split('\x01')
    record['gs2'] = parts[0]
    if not parts or not parts[0].startswith('n,'):
        record['reason'] = 'no GS2 header'
        return record
    token = None
    for kv in parts[1:]:
        if not kv:
            continue
        key, _, value = kv.partition('=')
        if key == 'auth':
            if value.startswith('Bearer '):
                token = value[len('Bearer '):]
        else:
            record['extensions'][key] = value
    if not token:
        record['reason'] = 'no bearer token'
        return record
    try:
        info = introspect(args, token)
    except urllib.error.HTTPError as e:
        record['reason'] = f'introspection failed: HTTP {e.code} {e.read()[:200]!r}'
        return record
    except (urllib.error.URLError, OSError, ValueError) as e:
        record['reason'] = f'introspection failed: {type(e).__name__}'
        return record
    record.update(client_id=info.get('client_id'), sub=info.get('sub'), aud=info.get('aud'),
                  token=hashlib.sha256(token.encode()).hexdigest()[:16])
    aud = info.get('aud')
    auds = aud if isinstance(aud, list) else [aud]
    if not info.get('active'):
        record['reason'] = 'inactive token'
    elif args.audience and args.audience not in auds:
        record['reason'] = 'the token is not for this audience'
    elif any(record['extensions'].get(k) != v for k, v in args.require_extension):
        record['reason'] = 'a required extension is missing'
    else:
        record['ok'] = True
    return record


def count_records(records):
    """The records of a produce: a record batch (magic 2) holds its count at offset 57, a
    MessageSet (magic 0 or 1, which librdkafka sends to a broker without Fetch v4) one
    message per entry."""
    n, pos = 0, 0
    while records is not None and pos + 17 <= len(records):
        length = struct.unpack_from('>i', records, pos + 8)[0]
        if records[pos + 16] == 2 and pos + 61 <= len(records):
            n += struct.unpack_from('>i', records, pos + 57)[0]
        else:
            n += 1  # a message of MessageSet v0 or v1
        pos += 12 + length
    return n


class Connection(socketserver.BaseRequestHandler):
    def recv_exact(self, n):
        data = b''
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def reply(self, correlation_id, body):
        payload = i32(correlation_id) + body
        self.request.sendall(i32(len(payload)) + payload)

    def handle(self):
        args = self.server.args
        authenticated = False
        while True:
            size = self.recv_exact(4)
            if size is None:
                return
            frame = self.recv_exact(struct.unpack('>i', size)[0])
            if frame is None:
                return
            r = Reader(frame)
            api_key, version, correlation_id = r.take('h'), r.take('h'), r.take('i')
            if api_key == API_VERSIONS:
                lo, hi = SUPPORTED[API_VERSIONS]
                self.reply(correlation_id, api_versions_body(0 if lo <= version <= hi else UNSUPPORTED_VERSION))
                continue
            r.string()  # client_id
            if api_key == API_SASL_HANDSHAKE:
                mechanism = r.string()
                error = 0 if mechanism == 'OAUTHBEARER' else UNSUPPORTED_SASL_MECHANISM
                self.reply(correlation_id, i16(error) + array([string('OAUTHBEARER')]))
                continue
            if api_key == API_SASL_AUTHENTICATE:
                record = authenticate(args, r.bytes() or b'')
                with stats_lock:
                    stats['authentications'].append(record)
                body = (i16(0) + string(None) + bytes_(b'') if record['ok'] else
                        i16(SASL_AUTHENTICATION_FAILED) + string('OAUTHBEARER: ' + record['reason'])
                        + bytes_(b''))
                if version >= 1:
                    body += i64(0)
                self.reply(correlation_id, body)
                if not record['ok']:
                    return
                authenticated = True
                continue
            if not authenticated:
                with stats_lock:
                    stats['refused_before_auth'] += 1
                return
            if api_key == API_METADATA:
                self.metadata(r, version, correlation_id)
            elif api_key == API_PRODUCE:
                self.produce(r, version, correlation_id)
                if args.close_after_produce:
                    return
            else:
                return

    def metadata(self, r, version, correlation_id):
        topics = r.array(r.string) or []
        port = self.server.server_address[1]
        broker = i32(NODE_ID) + string('127.0.0.1') + i32(port) + (string(None) if version >= 1 else b'')
        body = i32(0) if version >= 3 else b''
        body += array([broker])
        if version >= 2:
            body += string('oauth2cc-test')
        if version >= 1:
            body += i32(NODE_ID)
        partition = i16(0) + i32(0) + i32(NODE_ID) + array([i32(NODE_ID)]) + array([i32(NODE_ID)])
        body += array([i16(0) + string(t) + (b'\x00' if version >= 1 else b'') + array([partition])
                       for t in topics])
        self.reply(correlation_id, body)

    def produce(self, r, version, correlation_id):
        if version >= 3:
            r.string()  # transactional_id
        acks = r.take('h')
        r.take('i')  # timeout
        def partition():
            index, records = r.take('i'), r.bytes()
            return index, count_records(records)
        topics = r.array(lambda: (r.string(), r.array(partition)))
        with stats_lock:
            stats['produce_requests'] += 1
            stats['records'] += sum(n for _, parts in topics for _, n in parts)
        if acks == 0:
            return
        def answer(index):
            out = i32(index) + i16(0) + i64(0)
            if version >= 2:
                out += i64(-1)
            if version >= 5:
                out += i64(0)
            return out
        body = array([string(name) + array([answer(i) for i, _ in parts]) for name, parts in topics])
        if version >= 1:
            body += i32(0)
        self.reply(correlation_id, body)


class Broker(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Harness(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != '/_harness/stats':
            self.send_error(404)
            return
        with stats_lock:
            body = json.dumps(stats).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--introspection-endpoint', required=True)
    parser.add_argument('--client-id', required=True)
    parser.add_argument('--client-secret-file', required=True)
    parser.add_argument('--audience')
    parser.add_argument('--close-after-produce', action='store_true')
    parser.add_argument('--require-extension', action='append', default=[],
                        type=lambda kv: tuple(kv.split('=', 1)))
    args = parser.parse_args()
    with open(args.client_secret_file) as f:
        args.client_secret = f.read().strip()

    broker = Broker(('127.0.0.1', 0), Connection)
    broker.args = args
    harness = ThreadingHTTPServer(('127.0.0.1', 0), Harness)
    for server in (broker, harness):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    port, kafka_port = harness.server_address[1], broker.server_address[1]
    print(json.dumps({'port': port, 'url': f'http://127.0.0.1:{port}', 'kafka_port': kafka_port,
                      'bootstrap': f'127.0.0.1:{kafka_port}'}), flush=True)
    stop.wait()
    broker.shutdown()
    harness.shutdown()


if __name__ == '__main__':
    main()
