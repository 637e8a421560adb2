# tests/pgbouncer/lib.sh — PgBouncer (Debian's 1.18) in transaction pooling mode in front of a
# local PostgreSQL, for tests/pgbouncer/check-pgbouncer and tests/bench/redemptions
# (BENCH_PGBOUNCER=1). Source it, then:
#   pgbouncer_start "<libpq conninfo with host=<socket dir> [port=N]>" POOL_SIZE USER...
#       starts it on a free 127.0.0.1 port: PGBOUNCER_PORT, PGBOUNCER_DIR, PGBOUNCER_ADMIN (a
#       conninfo for its console, as postgres); returns non-zero if it did not come up
#   pgbouncer_stop
# PgBouncer refuses to run as root, so as root it runs as postgres, and its files live in a
# directory of its own under /tmp, which postgres can reach (a checkout under /root is 0700).
PGBOUNCER_BIN=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

pgbouncer_start() {
    local conninfo=$1 pool=$2 sockdir pgport u
    shift 2
    sockdir=$(sed -nE 's/.*host=([^ ]+).*/\1/p' <<<"$conninfo")
    pgport=$(sed -nE 's/.*port=([0-9]+).*/\1/p' <<<"$conninfo")
    PGBOUNCER_DIR=$(mktemp -d /tmp/suanli-pgbouncer.XXXXXX)
    PGBOUNCER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    PGBOUNCER_ADMIN="host=127.0.0.1 port=$PGBOUNCER_PORT user=postgres dbname=pgbouncer"
    cat >"$PGBOUNCER_DIR/pgbouncer.ini" <<INI
[databases]
* = host=$sockdir port=${pgport:-5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $PGBOUNCER_DIR/users.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = $pool
max_client_conn = 1000
logfile = $PGBOUNCER_DIR/pgbouncer.log
pidfile = $PGBOUNCER_DIR/pgbouncer.pid
INI
    : >"$PGBOUNCER_DIR/users.txt"
    for u in postgres "$@"; do printf '"%s" ""\n' "$u" >>"$PGBOUNCER_DIR/users.txt"; done
    chmod 755 "$PGBOUNCER_DIR"
    local as_postgres=()
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres "$PGBOUNCER_DIR"
        as_postgres=(runuser -u postgres --)
    fi
    "${as_postgres[@]}" "$PGBOUNCER_BIN" -d -q "$PGBOUNCER_DIR/pgbouncer.ini" || return 1
    for _ in $(seq 50); do
        psql -Atq "$PGBOUNCER_ADMIN" -c 'SHOW VERSION' >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

pgbouncer_stop() {
    [ -n "${PGBOUNCER_DIR:-}" ] || return 0
    if [ -f "$PGBOUNCER_DIR/pgbouncer.pid" ]; then
        kill "$(cat "$PGBOUNCER_DIR/pgbouncer.pid")" 2>/dev/null
        for _ in $(seq 20); do [ -f "$PGBOUNCER_DIR/pgbouncer.pid" ] || break; sleep 0.1; done
    fi
    rm -rf "$PGBOUNCER_DIR"
    PGBOUNCER_DIR=""
}
