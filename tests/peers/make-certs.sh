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

sign client "/CN=basic-client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

chmod 600 ./*-key.pem
echo "make-certs.sh: test CA and certificates written"
