#!/usr/bin/env bash
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# make-certs.sh: makes a throwaway test CA and the certificates the HTTPS tests use.
# SPDX-License-Identifier: MIT
#
# Usage: make-certs.sh DIR
# Writes into DIR (which must exist):
#   ca.pem / ca-key.pem                   a test CA
#   server.pem / server-key.pem           for 127.0.0.1, ::1 and localhost
#   other-host.pem / other-host-key.pem   signed by the CA, for another host name only
#   client.pem / client-key.pem           a client certificate for mutual TLS
#   client-next.pem / client-next-key.pem another one, as if client.pem were renewed
#   expired.pem / expired-key.pem         for 127.0.0.1, signed by the CA, expired in 2020
#   self-signed.pem / self-signed-key.pem for 127.0.0.1, signed by nobody but itself
#   cn-only.pem / cn-only-key.pem         CN=127.0.0.1 and no subjectAltName
#   ipv6-prefix.pem / ipv6-prefix-key.pem only IP:7f00:1::, whose first 4 bytes are 127.0.0.1
set -euo pipefail

dir=${1:?usage: make-certs.sh DIR}
cd "$dir"
days=2

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca-key.pem
openssl req -x509 -new -key ca-key.pem -sha256 -days "$days" -subj "/CN=oauth2cc test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem

# sign NAME SUBJECT EXTENSIONS: a leaf certificate signed by the test CA.
sign() {
  local name=$1 subject=$2 extensions=$3
  key "$name-key.pem"
  openssl req -new -key "$name-key.pem" -subj "$subject" -out "$name.csr"
  printf '%s\n' "$extensions" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
    -days "$days" -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

sign server "/CN=127.0.0.1" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"

sign other-host "/CN=other-host.invalid" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:other-host.invalid"

# Neither names 127.0.0.1 as RFC 6125 wants (an IP SAN of exactly those bytes).
sign cn-only "/CN=127.0.0.1" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"

sign ipv6-prefix "/CN=ipv6-prefix" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:7f00:1::"

sign client "/CN=basic-client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

# The client's next certificate, for the tests of a certificate replaced on disk.
sign client-next "/CN=basic-client-next" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

# An expired certificate: only `openssl ca` sets dates in the past.
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca.cnf <<'CONF'
[ca]
default_ca = test_ca
[test_ca]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
certificate = ca.pem
private_key = ca-key.pem
default_md = sha256
policy = any
[any]
commonName = supplied
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
CONF
key expired-key.pem
openssl req -new -key expired-key.pem -subj "/CN=127.0.0.1" -out expired.csr
openssl ca -batch -config ca.cnf -extensions server_ext -notext -in expired.csr \
  -startdate 200101000000Z -enddate 200102000000Z -out expired.pem 2>/dev/null
rm -rf expired.csr ca-db ca.cnf

key self-signed-key.pem
openssl req -x509 -new -key self-signed-key.pem -sha256 -days "$days" -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -out self-signed.pem

chmod 600 ./*-key.pem
echo "make-certs.sh: test CA and certificates written"
