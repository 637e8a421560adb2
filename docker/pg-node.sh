#!/bin/sh
# A pg_auto_failover data node of compose.yaml (pg-1, pg-2): pg_autoctl creates it on first start
# and runs it, as before; --pg-hba-lan lets only the postgres user in from the private db network,
# so once PostgreSQL runs this adds the one rule suanli needs besides: its owner role (migrate)
# and runtime role (serve) may reach the suanli database over TLS from that network. The roles
# themselves are made once, on the primary, by db-roles.sql (they replicate to the standby).
set -u
name=$1
pg_autoctl create postgres --name "$name" --hostname "$name" \
    --monitor "postgres://autoctl_node@monitor:5432/pg_auto_failover?sslmode=require" \
    --dbname suanli --auth trust --pg-hba-lan --ssl-self-signed --run &
pid=$!
trap 'kill -TERM $pid' TERM INT
rule="hostssl suanli suanli_owner,suanli_app samenet trust"
while kill -0 $pid 2>/dev/null; do
    if [ -f "$PGDATA/postmaster.pid" ] && ! grep -qxF "$rule" "$PGDATA/pg_hba.conf"; then
        echo "$rule" >>"$PGDATA/pg_hba.conf" && pg_ctl reload -D "$PGDATA" >/dev/null
    fi
    sleep 2
done
wait $pid
