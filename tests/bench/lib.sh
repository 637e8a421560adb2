# tests/bench/lib.sh — what the benchmark scripts share (sourced, not run).

# wrk's latency (1.23ms, 850.00us, 1.02s, 2.00m) in milliseconds.
bench_ms() {
    python3 -c "
import re, sys
m = re.fullmatch(r'([0-9.]+)(us|ms|s|m)', sys.argv[1])
print(round(float(m.group(1)) * {'us': 0.001, 'ms': 1, 's': 1000, 'm': 60000}[m.group(2)], 3) if m else '')" "$1"
}

# One target line, in the format `make bench` collects:
#   TARGET <name> <measured> vs <ceiling> = <ratio> (need <op> <threshold>) PASS|FAIL
# ratio = measured / ceiling; op is >= or <=. A missing figure is a FAIL with ratio n/a.
bench_target() { # name measured ceiling op threshold
    python3 -c "
import sys
name, measured, ceiling, op, threshold = sys.argv[1:6]
try:
    ratio = float(measured) / float(ceiling)
    ok = ratio >= float(threshold) if op == '>=' else ratio <= float(threshold)
    r = f'{ratio:.2f}'
except (ValueError, ZeroDivisionError):
    ok, r = False, 'n/a'
print(f'TARGET {name} {measured or \"n/a\"} vs {ceiling or \"n/a\"} = {r} (need {op} {threshold}) '
      + ('PASS' if ok else 'FAIL'))" "$@"
}

# The peak resident set of process pid (VmHWM) in MiB, one decimal.
bench_hwm_mib() {
    awk '/^VmHWM/ {printf "%.1f\n", $2 / 1024}' "/proc/$1/status"
}

# The median of each column of lines "a b c ..." on stdin (numbers; a line that lacks one is
# left out of that column); prints one line, an empty field as "n/a". The benchmarks run a
# measured point BENCH_REPEAT times, alternating the server and its ceiling, and report the
# medians: one run on a shared machine moves by tens of per cent.
bench_medians() {
    python3 -c "
import statistics, sys
cols = {}
for line in sys.stdin:
    for i, v in enumerate(line.split()):
        try:
            cols.setdefault(i, []).append(float(v))
        except ValueError:
            cols.setdefault(i, [])
print(' '.join(('%g' % statistics.median(cols[i])) if cols[i] else 'n/a'
               for i in sorted(cols)))"
}

# A checkpoint before each measured run, the server's and its pgbench ceiling's alike, so that
# each starts from the same state. A redemption writes ~4.1 KB of WAL (pg_current_wal_lsn over
# a pgbench run), so at ~1 300 a second max_wal_size (1 GB) fills in about three minutes, and
# checkpoint_timeout is 5 min: in a bench of several minutes a checkpoint, and the full-page
# writes after it, would otherwise fall on whichever run came next. A 10 s run writes ~55 MB,
# too little to start another.
bench_checkpoint() { # conninfo
    psql -q "$1" -c CHECKPOINT
}
