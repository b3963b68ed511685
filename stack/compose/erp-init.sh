#!/bin/bash
# ERP (PostgreSQL) users for docker-compose, the same as stack/components/postgres.py makes
# locally: an owner of the ERP, a least-privilege Debezium user (REPLICATION LOGIN, SELECT on
# what the owner creates), a read-only reader, and the owner of scv's own database. Nobody else
# may connect. Runs once, from /docker-entrypoint-initdb.d, as the image's superuser.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$SCV_ERP_OWNER_PASSWORD" -v cdc_pw="$SCV_ERP_CDC_PASSWORD" \
  -v reader_pw="$SCV_ERP_READER_PASSWORD" -v store_pw="$SCV_STORE_PASSWORD" <<'SQL'
CREATE ROLE scv_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE scv_cdc LOGIN REPLICATION PASSWORD :'cdc_pw';
CREATE ROLE scv_reader LOGIN PASSWORD :'reader_pw';
CREATE ROLE scv_store LOGIN PASSWORD :'store_pw';
CREATE DATABASE erp OWNER scv_owner;
CREATE DATABASE scv OWNER scv_store;
REVOKE CONNECT, TEMPORARY ON DATABASE erp FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE scv FROM PUBLIC;
GRANT CONNECT ON DATABASE erp TO scv_cdc, scv_reader;
\connect erp
ALTER DEFAULT PRIVILEGES FOR ROLE scv_owner GRANT USAGE ON SCHEMAS TO scv_cdc;
ALTER DEFAULT PRIVILEGES FOR ROLE scv_owner GRANT SELECT ON TABLES TO scv_cdc;
ALTER DEFAULT PRIVILEGES FOR ROLE scv_owner GRANT USAGE ON SCHEMAS TO scv_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE scv_owner GRANT SELECT ON TABLES TO scv_reader;
SQL
