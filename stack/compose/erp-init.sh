#!/bin/bash
# ERP (PostgreSQL) users for docker-compose, the same as stack/components/postgres.py makes
# locally: an owner, and a least-privilege Debezium user (REPLICATION LOGIN, SELECT on what
# the owner creates). Runs once, from /docker-entrypoint-initdb.d, as the image's superuser.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$SCV_ERP_OWNER_PASSWORD" -v cdc_pw="$SCV_ERP_CDC_PASSWORD" <<'SQL'
CREATE ROLE scv_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE scv_cdc LOGIN REPLICATION PASSWORD :'cdc_pw';
CREATE DATABASE erp OWNER scv_owner;
CREATE DATABASE scv OWNER scv_owner;
GRANT CONNECT ON DATABASE erp TO scv_cdc;
\connect erp
ALTER DEFAULT PRIVILEGES FOR ROLE scv_owner GRANT USAGE ON SCHEMAS TO scv_cdc;
ALTER DEFAULT PRIVILEGES FOR ROLE scv_owner GRANT SELECT ON TABLES TO scv_cdc;
SQL
