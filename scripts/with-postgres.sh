#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster: PATRON_TEST_DATABASE_URL points at it,
# and the cluster is stopped and removed afterwards, whatever the command's outcome.
#
#   scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/patron-pg.XXXXXX")
cleanup() { "$here/pg-cluster.sh" stop "$dir"; }
trap cleanup EXIT
url=$("$here/pg-cluster.sh" start "$dir")
echo "PostgreSQL test cluster: $url (data in $dir)" >&2
PATRON_TEST_DATABASE_URL=$url "$@"
