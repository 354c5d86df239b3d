#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster: PATRON_TEST_DATABASE_URL points at it,
# and the cluster is stopped and removed afterwards, whatever the command's outcome
# (failure, Ctrl-C or SIGTERM included). Exits with the command's status.
#
#   scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Under /tmp, not $TMPDIR: the cluster runs as an unprivileged user that must reach it.
dir=$(mktemp -d /tmp/patron-pg.XXXXXX)
cleanup() { "$here/pg-cluster.sh" stop "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
url=$("$here/pg-cluster.sh" start "$dir")
echo "PostgreSQL test cluster: $url (data in $dir)" >&2
PATRON_TEST_DATABASE_URL=$url "$@"
