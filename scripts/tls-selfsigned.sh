#!/bin/sh
# Makes a self-signed TLS certificate and key for a demo or test server on
# this machine: DIR/cert.pem and DIR/key.pem (mode 600), valid for
# 127.0.0.1, ::1 and localhost. Not for production: there, use a certificate
# from the member state's CA.
#
# usage: scripts/tls-selfsigned.sh DIR [DAYS]      DAYS: validity (default 30)
#   then: avrr serve --tls-cert DIR/cert.pem --tls-key DIR/key.pem ...
#   and:  curl --cacert DIR/cert.pem https://127.0.0.1:8080/healthz
# Uses openssl (scripts/deps.sh installs it), or GnuTLS's certtool when
# openssl is missing.
set -eu
DIR=${1:?usage: tls-selfsigned.sh DIR [DAYS]}
# 30 days: long enough for a demo, short enough that a copied demo key
# does not stay useful.
DAYS=${2:-30}
mkdir -p "$DIR"
# The key is never readable by others, not even while it is written:
# avrr serve refuses a key file that group or others can read.
umask 077
# ECDSA P-256: small and fast handshakes; every TLS 1.2+ client takes it.
if command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$DIR/key.pem" -out "$DIR/cert.pem" -days "$DAYS" \
        -subj "/CN=localhost/O=avrr demo" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" 2>/dev/null
elif command -v certtool >/dev/null 2>&1; then
    tmpl="$DIR/cert.tmpl"
    cat >"$tmpl" <<TEMPLATE
cn = "localhost"
organization = "avrr demo"
dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"
expiration_days = $DAYS
ca
cert_signing_key
signing_key
tls_www_server
TEMPLATE
    certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
        --outfile "$DIR/key.pem" 2>/dev/null
    certtool --generate-self-signed --load-privkey "$DIR/key.pem" \
        --template "$tmpl" --outfile "$DIR/cert.pem" 2>/dev/null
    rm -f "$tmpl"
else
    echo "tls-selfsigned.sh: needs openssl (apt-get install openssl) or certtool (gnutls-bin)" >&2
    exit 1
fi
chmod 600 "$DIR/key.pem"
chmod 644 "$DIR/cert.pem"
echo "$DIR/cert.pem"
echo "$DIR/key.pem"
