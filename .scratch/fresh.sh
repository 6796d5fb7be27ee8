#!/bin/bash
# fresh.sh DB [extra.sql]: fresh migrated database, optional SQL applied
set -e
psql -h 127.0.0.1 -U postgres -qc "drop database if exists $1" -c "create database $1" 2>/dev/null
DATABASE_URL=postgres://postgres@127.0.0.1:5432/$1 LOG_LEVEL=error npx tsx src/cli/main.ts migrate >/dev/null
[ -n "$2" ] && psql -h 127.0.0.1 -U postgres -d $1 -qf $2
true
