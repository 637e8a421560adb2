# cluster.sh — sourced by the scale and fault tests: a PostgreSQL primary and a streaming
# replica (pg_basebackup -R) on 127.0.0.1, several suanlid replicas, and HAProxy in front, all
# under one private directory, torn down by scale_cleanup.
# Needs: ROOT (repo), SUANLID (binary), SCALE_DIR (created here), run as root or as a user that
# can run PostgreSQL itself.

PGBIN=${SUANLI_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

free_port() { python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

scale_setup_dirs() {
    SCALE_DIR=$(mktemp -d /var/tmp/suanli-scale-XXXXXX)
    chmod 755 "$SCALE_DIR"
    mkdir -p "$SCALE_DIR/logs"
    [ "$(id -u)" = 0 ] && chown -R postgres "$SCALE_DIR"
    PRIMARY_PORT=$(free_port); REPLICA_PORT=$(free_port); HAPROXY_PORT=$(free_port)
    PRIMARY_URL="host=127.0.0.1 port=$PRIMARY_PORT user=postgres dbname=suanli"
    REPLICA_URL="host=127.0.0.1 port=$REPLICA_PORT user=postgres dbname=suanli"
}

pg_start_primary() {
    as_pg "$PGBIN/initdb" -D "$SCALE_DIR/primary" -U postgres -A trust -E UTF8 --no-locale >/dev/null || return 1
    cat >> "$SCALE_DIR/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$SCALE_DIR'
max_connections = 200
wal_level = replica
max_wal_senders = 4
hot_standby = on
synchronous_commit = on
CONF
    as_pg "$PGBIN/pg_ctl" -D "$SCALE_DIR/primary" -l "$SCALE_DIR/logs/primary.log" -w start >/dev/null || return 1
    psql -q "host=127.0.0.1 port=$PRIMARY_PORT user=postgres dbname=postgres" -c 'CREATE DATABASE suanli' >/dev/null
}

pg_start_replica() {
    as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$SCALE_DIR/replica" -R -X stream >/dev/null || return 1
    sed -i "s/^port = .*/port = $REPLICA_PORT/" "$SCALE_DIR/replica/postgresql.conf"
    as_pg "$PGBIN/pg_ctl" -D "$SCALE_DIR/replica" -l "$SCALE_DIR/logs/replica.log" -w start >/dev/null
}

pg_restart_primary() { # stop, wait $1 seconds, start
    as_pg "$PGBIN/pg_ctl" -D "$SCALE_DIR/primary" -m fast -w stop >/dev/null
    sleep "${1:-2}"
    as_pg "$PGBIN/pg_ctl" -D "$SCALE_DIR/primary" -l "$SCALE_DIR/logs/primary.log" -w start >/dev/null
}

# suanlid_start NAME [extra env...]: starts a replica on a free port; sets PORT_<NAME>, PID_<NAME>
suanlid_start() {
    local name=$1; shift
    local port; port=$(free_port)
    env SUANLI_LISTEN=127.0.0.1:$port DATABASE_URL="$PRIMARY_URL" DATABASE_READ_URL="$REPLICA_URL" \
        SUANLI_KEY_FILE="$SCALE_DIR/keys.json" SUANLI_SQL_DIR="$ROOT/sql" SUANLI_WEB_DIR="$ROOT/web" \
        SUANLI_LOG_LEVEL=warn SUANLI_THREADS=${SUANLI_THREADS:-6} "$@" \
        "$SUANLID" serve >>"$SCALE_DIR/logs/$name.log" 2>&1 &
    eval "PID_$name=$!; PORT_$name=$port"
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "suanlid $name did not start; see $SCALE_DIR/logs/$name.log" >&2
    return 1
}

haproxy_start() { # haproxy_start PORT...
    {
        echo "global"; echo "    maxconn 4096"
        echo "defaults"; echo "    mode http"; echo "    timeout connect 2s"
        echo "    timeout client 30s"; echo "    timeout server 30s"; echo "    retries 2"
        echo "    option redispatch"
        echo "frontend api"; echo "    bind 127.0.0.1:$HAPROXY_PORT"; echo "    default_backend suanli"
        echo "backend suanli"; echo "    balance leastconn"; echo "    option httpchk GET /readyz"
        echo "    default-server inter 500ms fall 2 rise 2"
        local i=0
        for p in "$@"; do i=$((i + 1)); echo "    server s$i 127.0.0.1:$p check"; done
    } > "$SCALE_DIR/haproxy.cfg"
    haproxy -f "$SCALE_DIR/haproxy.cfg" -p "$SCALE_DIR/haproxy.pid" -D >>"$SCALE_DIR/logs/haproxy.log" 2>&1
    for _ in $(seq 1 50); do
        curl -fsS "http://127.0.0.1:$HAPROXY_PORT/readyz" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

scale_cleanup() {
    [ -f "$SCALE_DIR/haproxy.pid" ] && kill "$(cat "$SCALE_DIR/haproxy.pid")" 2>/dev/null
    for v in $(compgen -v | grep '^PID_'); do kill "${!v}" 2>/dev/null; done
    wait 2>/dev/null
    for d in replica primary; do
        [ -d "$SCALE_DIR/$d" ] && as_pg "$PGBIN/pg_ctl" -D "$SCALE_DIR/$d" -m immediate -w stop >/dev/null 2>&1
    done
    [ -n "${KEEP_SCALE_DIR:-}" ] || rm -rf "$SCALE_DIR"
}
