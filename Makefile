# Suanli — build, run and test. `make run` and `make test` work on a fresh Debian 12 as root.
.DEFAULT_GOAL := all
B ?= build
.PHONY: all run test unit integration clean format deps deps-build fuzz web-vendor bench ha-test

PKGS      := libmicrohttpd libpq jansson libsodium libcurl
SHARE_DIR := $(CURDIR)
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Werror -Wshadow -Iserver -Iapi \
                 -DSUANLI_SHARE_DIR='"$(SHARE_DIR)"'
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
# Test programs build shell commands from paths; truncation there is a test failure anyway.
TEST_CFLAGS := -O1 -Wno-format-truncation
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC      := $(wildcard server/*.c api/*.c)
LIB_SRC  := $(filter-out server/main.c,$(SRC))
HDRS     := $(wildcard server/*.h server/*.def api/*.h)

REL_OBJ  := $(patsubst %.c,$(B)/rel/%.o,$(SRC))
TEST_OBJ := $(patsubst %.c,$(B)/test/%.o,$(SRC))
TEST_LIB := $(patsubst %.c,$(B)/test/%.o,$(LIB_SRC))

CHECKS   := $(patsubst tests/%.c,$(B)/test/%,$(wildcard tests/check_*.c))
# tests/lib: what the Check suites share (the harness, the world they test in).
CHECK_LIB := $(patsubst %.c,$(B)/test/%.o,$(wildcard tests/lib/*.c))
CHECK_HDRS := $(wildcard tests/lib/*.h)
CHECK_FLAGS = $(CFLAGS_COMMON) $(TEST_CFLAGS) $(SAN) -Itests/lib $(PKG_CFLAGS) \
              $(shell pkg-config --cflags check libcurl yaml-0.1)

# libFuzzer targets (clang): every library object rebuilt with coverage instrumentation.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iserver -Iapi -DSUANLI_SHARE_DIR='"$(SHARE_DIR)"' \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB := $(patsubst %.c,$(B)/fuzz/%.o,$(LIB_SRC))
FUZZERS  := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

all: deps-build $(B)/suanlid

deps-build:
	@.ci/install-deps build

deps:
	@.ci/install-deps all

$(B)/rel/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_COMMON) -O2 $(PKG_CFLAGS) -c $< -o $@

$(B)/test/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC/san  $<"
	@$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $(PKG_CFLAGS) -c $< -o $@

$(B)/suanlid: $(REL_OBJ)
	@echo "  LD      $@"
	@$(CC) -o $@ $^ $(PKG_LIBS)

$(B)/test/suanlid: $(TEST_OBJ)
	@echo "  LD/san  $@"
	@$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)

$(B)/test/check_%: tests/check_%.c $(CHECK_LIB) $(TEST_LIB) $(HDRS) $(CHECK_HDRS)
	@echo "  TEST    $@"
	@$(CC) $(CHECK_FLAGS) $< $(CHECK_LIB) $(TEST_LIB) -o $@ $(PKG_LIBS) \
	    $(shell pkg-config --libs check libcurl yaml-0.1)

$(B)/scale-load: tests/scale/load.c
	@echo "  CC      $@"
	@$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror $< -o $@ $(shell pkg-config --cflags --libs libcurl jansson) -lpthread

$(B)/fuzz/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC/fuzz $<"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -c $< -o $@

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@echo "  FUZZ    $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) $< $(FUZZ_LIB) -o $@ $(PKG_LIBS)

# fuzz_endpoints runs the real handlers in-process with tests/fuzz/db_stub.c for server/db.c:
# the database answers "unavailable" at once, so only decoding and validation run.
FUZZ_NODB := $(filter-out $(B)/fuzz/server/db.o,$(FUZZ_LIB)) $(B)/fuzz/tests/fuzz/db_stub.o
$(B)/fuzz/fuzz_endpoints: tests/fuzz/fuzz_endpoints.c $(FUZZ_NODB)
	@echo "  FUZZ    $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) $< $(FUZZ_NODB) -o $@ $(PKG_LIBS)
# Built through a pattern rule only, make would delete them as intermediate after every run.
.SECONDARY: $(FUZZ_LIB) $(CHECK_LIB)

# `make fuzz` runs every target for FUZZ_SECONDS each (make test runs them briefly).
fuzz: deps $(FUZZERS)
	@B=$(B) FUZZ_SECONDS=$${FUZZ_SECONDS:-600} tests/fuzz/check-fuzz

$(B)/test/tests/lib/%.o: tests/lib/%.c $(HDRS) $(CHECK_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC/san  $<"
	@$(CC) $(CHECK_FLAGS) -c $< -o $@

# Third-party browser code (the QR encoder, Swagger UI for /docs) and the browser tests'
# tools come from npm, pinned by package-lock.json; the UI serves its copy from web/vendor
# (ignored by git), never a CDN.
web-vendor: web/vendor/qrcode.mjs web/vendor/swagger-ui/swagger-ui-bundle.js

node_modules/.package-lock.json: package.json package-lock.json
	@echo "  NPM     ci"
	@npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

web/vendor/qrcode.mjs: node_modules/.package-lock.json
	@mkdir -p web/vendor
	@cp node_modules/qrcode-generator/dist/qrcode.mjs $@

# /docs: Swagger UI's self-contained bundle and stylesheet, with its licence and notices.
SWAGGER_UI := swagger-ui-bundle.js swagger-ui.css swagger-ui-bundle.js.LICENSE.txt LICENSE NOTICE
web/vendor/swagger-ui/swagger-ui-bundle.js: node_modules/.package-lock.json
	@mkdir -p web/vendor/swagger-ui
	@cp $(addprefix node_modules/swagger-ui-dist/,$(SWAGGER_UI)) web/vendor/swagger-ui/

run: all web-vendor
	./$(B)/suanlid serve --demo-seed

tests/contract/node_modules/.installed: tests/contract/package-lock.json
	@echo "  NPM     tests/contract"
	@cd tests/contract && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

# The PASETO interoperability suite's library (npm paseto), pinned by its own package-lock.json.
tests/interop/node_modules/.installed: tests/interop/package-lock.json
	@echo "  NPM     tests/interop"
	@cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

test: deps web-vendor tests/contract/node_modules/.installed tests/interop/node_modules/.installed
	@$(MAKE) --no-print-directory $(B)/suanlid $(B)/scale-load $(B)/test/suanlid $(CHECKS) $(FUZZERS)
	@B=$(B) tests/run-all

# The failover test alone (tests/ha/check-ha; `make test` runs it too): pg_auto_failover,
# three suanlid behind HAProxy under load, five kill -9 of the primary's node.
ha-test: deps $(B)/suanlid $(B)/scale-load
	@B=$(B) tests/ha/check-ha

# The benchmarks (not part of `make test`; issue 17): wrk and pgbench against a release build,
# tests/bench/marketplace then tests/bench/redemptions; each prints TARGET lines, repeated here
# at the end as the summary. FAIL lines are information: it exits 0 unless a script broke.
BENCH_B = $(if $(filter build,$(B)),build-bench,$(B))
bench: deps
	@mkdir -p $(BENCH_B)
	@bash -c '{ rc=0; for s in marketplace redemptions; do echo "== tests/bench/$$s"; \
	    B=$(BENCH_B) tests/bench/$$s || { rc=1; echo "tests/bench/$$s exited with an error"; }; \
	    done; exit $$rc; } 2>&1 | tee $(BENCH_B)/bench.out; rc=$${PIPESTATUS[0]}; \
	    echo; echo "== make bench: targets"; grep "^TARGET" $(BENCH_B)/bench.out; exit $$rc'

format:
	clang-format -i server/*.c server/*.h api/*.c api/*.h tests/*.c tests/lib/*.c tests/lib/*.h tests/fuzz/*.c tests/scale/*.c

clean:
	rm -rf build
