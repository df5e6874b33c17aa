# Plinth — build, run and test.
#   make            build build/plinth (release, -O2)
#   make run        install what is missing, build, serve on 127.0.0.1:8080 with ./plinth-data
#   make test       unit + API tests (SQLite and PostgreSQL), then all of it again under ASan + UBSan
#   make test-asan  only the sanitizer half

PKGS      := libh2o-evloop jansson sqlite3 libpq hiredis libsodium librhonabwy libcurl openssl
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
CC        ?= cc
WARN      := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers -Werror
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
BASE_CFLAGS = -std=gnu11 $(WARN) -Isrc -DH2O_USE_LIBUV=0 -DPLINTH_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -MMD -MP
LIBS      = $(PKG_LIBS) -lcsv -lpthread -lm

BUILD     ?= build
OPT       ?= -O2 -g
SAN       ?=
CFLAGS_ALL = $(BASE_CFLAGS) $(OPT) $(SAN)

SRCS      := $(shell find src -name '*.c' | sort)
LIB_SRCS  := $(filter-out src/main.c,$(SRCS))
OBJS      := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) $(BUILD)/obj/gen/migrations.o
# every owner's migrations: src/.../<owner>/migrations/<dialect>/NNNN_name.sql
MIGRATION_DIRS := $(sort $(shell find src -type d -path '*/migrations/*'))
MIGRATION_SQL  := $(sort $(shell find src -path '*/migrations/*' -name '*.sql'))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

.PHONY: all run test test-asan unit api api-sqlite api-postgres deps deps-build clean asan bench fmt

all: deps-build $(BUILD)/plinth

$(BUILD)/plinth: $(BUILD)/obj/main.o $(BUILD)/libplinth.a
	$(CC) $(OPT) $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/libplinth.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/obj/%.o: src/%.c | deps-build
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/gen/migrations.c: $(MIGRATION_SQL) tools/embed-migrations | deps-build
	@mkdir -p $(dir $@)
	tools/embed-migrations $@ $(MIGRATION_DIRS)

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libplinth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(BUILD)/libplinth.a $(LIBS) -lcmocka

# Dependencies: install only what is missing (scripts/install-deps is idempotent).
deps-build:
	@scripts/install-deps --check || scripts/install-deps

deps: deps-build

run: all
	$(BUILD)/plinth serve

unit: all $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

api: api-sqlite api-postgres

api-sqlite: all
	PLINTH_BIN=$(abspath $(BUILD)/plinth) node --test --test-concurrency=2 tests/api/

# the same suite on a throwaway PostgreSQL server (tests/tools/pg-server)
api-postgres: all
	PLINTH_BIN=$(abspath $(BUILD)/plinth) tests/tools/with-pg node --test --test-concurrency=2 tests/api/

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g" SAN="$(ASAN_FLAGS)" all

test-asan: export ASAN_OPTIONS = detect_leaks=1:abort_on_error=1:halt_on_error=1
test-asan: export UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1
test-asan: export LSAN_OPTIONS = suppressions=$(abspath tests/lsan.supp):print_suppressions=0
test-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g" SAN="$(ASAN_FLAGS)" unit api

test: unit api test-asan

bench: all
	bench/run

fmt:
	clang-format -i $(SRCS) $(wildcard src/*/*.h src/*.h) $(UNIT_SRCS)

clean:
	rm -rf build build-asan

-include $(shell find build build-asan -name '*.d' 2>/dev/null)
