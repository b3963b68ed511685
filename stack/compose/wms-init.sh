#!/bin/bash
# WMS (MariaDB) users for docker-compose, the same as stack/components/mariadb.py makes
# locally: an owner of wmwhse1, and a CDC user with only the grants Debezium needs.
set -euo pipefail
# Not binlogged: the CDC user reads the binlog, and IDENTIFIED BY would put passwords in it.
mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" <<SQL
SET SESSION sql_log_bin = 0;
CREATE DATABASE IF NOT EXISTS wmwhse1 CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'scv_owner'@'%' IDENTIFIED BY '${SCV_WMS_OWNER_PASSWORD}';
GRANT ALL PRIVILEGES ON wmwhse1.* TO 'scv_owner'@'%';
CREATE USER IF NOT EXISTS 'scv_cdc'@'%' IDENTIFIED BY '${SCV_WMS_CDC_PASSWORD}';
GRANT RELOAD, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'scv_cdc'@'%';
GRANT SELECT ON wmwhse1.* TO 'scv_cdc'@'%';
CREATE DATABASE IF NOT EXISTS scv_control CHARACTER SET utf8mb4;
GRANT ALL PRIVILEGES ON scv_control.* TO 'scv_owner'@'%';
GRANT SELECT, INSERT ON scv_control.* TO 'scv_cdc'@'%';
SQL
