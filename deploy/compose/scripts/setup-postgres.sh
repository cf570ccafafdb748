#!/bin/sh
# Temporal's schema on PostgreSQL, with Temporal's own tool (temporal-sql-tool in the admin-tools image): create
# both databases, then bring each schema to the image's version. Safe to run again: create skips an existing
# database and update-schema applies only what is missing.
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" "$@"; }
schema=/etc/temporal/schema/postgresql/v12
for db in temporal temporal_visibility; do
  dir=$([ "$db" = temporal ] && echo temporal || echo visibility)
  tool --db "$db" create || echo "database $db exists"
  tool --db "$db" setup-schema -v 0.0 || echo "schema of $db is set up already"
  tool --db "$db" update-schema -d "$schema/$dir/versioned"
done
echo 'Temporal schema ready'
