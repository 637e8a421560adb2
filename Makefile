# Suanli — build, run and test. `make run` and `make test` work on a fresh Debian 12 as root.
.DEFAULT_GOAL := all
.PHONY: all run test unit integration clean format deps deps-build

PKGS      := libmicrohttpd libpq jansson libsodium
SHARE_DIR := $(CURDIR)
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Werror -Wshadow -Iserver -Iapi \
                 -DSUANLI_SHARE_DIR='"$(SHARE_DIR)"'
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC      := $(wildcard server/*.c api/*.c)
LIB_SRC  := $(filter-out server/main.c,$(SRC))
HDRS     := $(wildcard server/*.h server/*.def api/*.h tests/*.h)

REL_OBJ  := $(patsubst %.c,build/rel/%.o,$(SRC))
TEST_OBJ := $(patsubst %.c,build/test/%.o,$(SRC))
TEST_LIB := $(patsubst %.c,build/test/%.o,$(LIB_SRC))

CHECKS   := $(patsubst tests/%.c,build/test/%,$(wildcard tests/check_*.c))

all: deps-build build/suanlid

deps-build:
	@.ci/install-deps build

deps:
	@.ci/install-deps all

build/rel/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O2 $(PKG_CFLAGS) -c $< -o $@

build/test/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $(PKG_CFLAGS) -c $< -o $@

build/suanlid: $(REL_OBJ)
	$(CC) -o $@ $^ $(PKG_LIBS)

build/test/suanlid: $(TEST_OBJ)
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)

build/test/check_%: tests/check_%.c build/test/tests/harness.o $(TEST_LIB) $(HDRS)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) -Itests $(PKG_CFLAGS) $(shell pkg-config --cflags check libcurl) \
	    $< build/test/tests/harness.o $(TEST_LIB) -o $@ $(PKG_LIBS) $(shell pkg-config --libs check libcurl)

build/test/tests/harness.o: tests/harness.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) -Itests $(PKG_CFLAGS) $(shell pkg-config --cflags check libcurl) -c $< -o $@

run: all
	./build/suanlid serve --demo-seed

test: deps
	@$(MAKE) --no-print-directory build/test/suanlid $(CHECKS)
	@tests/run-all

format:
	clang-format -i server/*.c server/*.h api/*.c api/*.h tests/*.c tests/*.h

clean:
	rm -rf build
