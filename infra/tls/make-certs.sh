#!/bin/sh
# A private CA and certificates for Vigil's secured transports, made where they are used and never committed:
#
#   infra/tls/make-certs.sh <dir> <subjectAltNames> [owner-uid]
#
# Writes to <dir>: ca.pem (public) and ca.key; for each of kafka, elasticsearch and kafka-client a key (<name>.key,
# unencrypted PKCS#8, as Kafka's PEM key store reads it) and a certificate (<name>.pem) for <subjectAltNames>
# (e.g. "IP:127.0.0.1,DNS:localhost"); kafka-keystore.pem (the broker's key and certificate in one file). Does
# nothing when <dir>/.complete exists and the CA is valid for at least a day more. With [owner-uid], the keys are
# handed to that user (the containers of docker-compose.yml all run as uid 1000). POSIX sh: infra/services.sh runs
# it with bash, docker-compose.yml in an Alpine container.
set -eu
dir="$1"
san="$2"
owner="${3:-}"
if [ -f "$dir/.complete" ] && openssl x509 -checkend 86400 -noout -in "$dir/ca.pem" >/dev/null 2>&1; then
  exit 0
fi
mkdir -p "$dir"
cd "$dir"
rm -f ./*.pem ./*.key ./*.srl .complete
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=Vigil private CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.pem 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" >extensions.cnf
for name in kafka elasticsearch kafka-client; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=vigil-$name" -keyout "$name.key" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 \
    -extfile extensions.cnf -out "$name.pem" 2>/dev/null
  rm "$name.csr"
done
cat kafka.key kafka.pem >kafka-keystore.pem
rm extensions.cnf
# Certificates are public; keys stay readable by their owner only.
chmod 644 ca.pem kafka.pem elasticsearch.pem kafka-client.pem
if [ -n "$owner" ]; then chown "$owner" kafka.key elasticsearch.key kafka-client.key kafka-keystore.pem; fi
date -u +%Y-%m-%dT%H:%M:%SZ >.complete
