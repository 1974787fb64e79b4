#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: initdb into a temporary directory as the
# unprivileged `postgres` user, listening only on 127.0.0.1 at a private port and on a unix socket
# in that directory, with password authentication. Exports for the command:
#   MIIS_TEST_POSTGRES_URL  postgres://miis@127.0.0.1:PORT/miis   (no password in it)
#   PGPASSWORD              the miis role's password
#   MIIS_TEST_POSTGRES_ADMIN_URL / MIIS_TEST_POSTGRES_SOCKET  for tests that need a superuser
#   MIIS_TEST_POSTGRES_CA   the CA certificate of the server's TLS certificate (when openssl exists)
# The cluster is stopped and removed afterwards, whatever the command's outcome.
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pg_bin/initdb" ] || { echo "with-postgres: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
run_as=postgres
if [ "$(id -u)" -ne 0 ]; then run_as=$(id -un); fi
as_user() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$run_as" -- "$@"; else "$@"; fi; }

cluster=$(mktemp -d /tmp/miis-pg.XXXXXX)
chmod 0755 "$cluster"
chown "$run_as" "$cluster"
port=${MIIS_TEST_POSTGRES_PORT:-$(( 40000 + RANDOM % 20000 ))}
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
cleanup() {
    as_user "$pg_bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$cluster"
}
trap cleanup EXIT

printf '%s\n' "$password" > "$cluster/pwfile"
chown "$run_as" "$cluster/pwfile"
chmod 0600 "$cluster/pwfile"
as_user "$pg_bin/initdb" -D "$cluster/data" -U postgres --auth=scram-sha-256 --pwfile="$cluster/pwfile" \
    -E UTF8 --locale=C.UTF-8 >"$cluster/initdb.log" 2>&1 || { cat "$cluster/initdb.log" >&2; exit 1; }
# TLS with a throwaway CA, so that sslmode=require/verify-ca/verify-full can be tested:
# the server certificate names localhost only (not 127.0.0.1, so that verify-full can be seen to
# check the host name); MIIS_TEST_POSTGRES_CA is the CA's file.
tls_options=""
if command -v openssl >/dev/null 2>&1; then
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=miis test CA" -keyout "$cluster/ca.key" -out "$cluster/ca.crt" 2>/dev/null
    openssl req "${ec[@]}" -subj "/CN=localhost" -keyout "$cluster/data/server.key" -out "$cluster/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\n' > "$cluster/server.ext"
    openssl x509 -req -in "$cluster/server.csr" -CA "$cluster/ca.crt" -CAkey "$cluster/ca.key" -CAcreateserial -days 2 \
        -extfile "$cluster/server.ext" -out "$cluster/data/server.crt" 2>/dev/null
    chown "$run_as" "$cluster/data/server.key" "$cluster/data/server.crt"
    chmod 0600 "$cluster/data/server.key"
    chmod 0644 "$cluster/ca.crt"
    tls_options="-c ssl=on"
    export MIIS_TEST_POSTGRES_CA="$cluster/ca.crt"
fi
as_user "$pg_bin/pg_ctl" -D "$cluster/data" -w -t 60 -l "$cluster/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster -c fsync=off -c max_connections=200 $tls_options" start >/dev/null \
    || { cat "$cluster/server.log" >&2; exit 1; }

export PGPASSWORD=$password
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }
psql_admin -d postgres -c "CREATE ROLE miis LOGIN PASSWORD '$password'" -c "CREATE DATABASE miis OWNER miis" >/dev/null

export MIIS_TEST_POSTGRES_URL="postgres://miis@127.0.0.1:$port/miis"
export MIIS_TEST_POSTGRES_ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres"
export MIIS_TEST_POSTGRES_SOCKET=$cluster
echo "with-postgres: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
