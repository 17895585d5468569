#!/usr/bin/env bash
# Install and start Debian's PostgreSQL for the tests and the load benchmark; create the role
# `secprio` (password `secprio`, may create databases) and the database `secprio_test`.
# Idempotent. The tests connect to $SECPRIO_TEST_PG, by default
#   postgresql://secprio:secprio@127.0.0.1:5432/secprio_test
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "PostgreSQL missing: install Debian's 'postgresql' package (needs root and apt-get)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
fi
cluster=$(pg_lsclusters --no-header 2>/dev/null | head -n1 || true)
if [ -z "$cluster" ]; then
  ver=$(ls /usr/lib/postgresql | sort -n | tail -n1)
  pg_createcluster "$ver" main >/dev/null
  cluster=$(pg_lsclusters --no-header | head -n1)
fi
read -r ver name port status _ <<<"$cluster"
if [ "$status" != online ]; then
  pg_ctlcluster "$ver" "$name" start
fi
as_postgres() { (cd / && runuser -u postgres -- "$@"); }
for _ in $(seq 1 30); do
  as_postgres psql -p "$port" -qtAc 'select 1' >/dev/null 2>&1 && break
  sleep 1
done
if [ "$(as_postgres psql -p "$port" -qtAc "select 1 from pg_roles where rolname='secprio'")" != 1 ]; then
  as_postgres psql -p "$port" -qc "create role secprio login createdb password 'secprio'"
fi
if [ "$(as_postgres psql -p "$port" -qtAc "select 1 from pg_database where datname='secprio_test'")" != 1 ]; then
  as_postgres psql -p "$port" -qc "create database secprio_test owner secprio"
fi
echo "postgresql://secprio:secprio@127.0.0.1:$port/secprio_test"
