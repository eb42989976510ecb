# ngx_wapress_module: build, test, demo and benchmark entry points.
#
#   make            nginx $(NGINX_VERSION) with the module compiled in,
#                   at build/nginx/sbin/nginx (other versions and trees:
#                   "Building" below)
#   make modules    build/ngx_http_wapress_module.so for Debian's nginx
#   make test       the whole suite: unit tests and Test::Nginx (prove -r t)
#   make demo       the example page at http://127.0.0.1:$(PORT)/
#   make unit       only the C unit tests
#   make test-dynamic  the suite against Debian's nginx and the .so, with
#                   libnginx-mod-nchan loaded first
#   make bench      the benchmark (bench/README.md)
#   make test-asan  the suite against nginx built with ASan+UBSan (clang)
#   make test-valgrind  the suite under valgrind (docs/testing.md)
#   make fuzz       the libFuzzer targets in fuzz/, FUZZ_SECONDS=60 each
#   make deb        build/libnginx-mod-http-wapress_<version>_<arch>.deb
#   make test-deb   lintian, apt-get install, serve the page, purge (root)
#   make test-browser  the demo page in headless Chromium, a screenshot
#   make test-docs  every ```nginx block of README.md and docs/ via nginx -t
#   make test-build the build's own checks (util/build-checks.sh)
#   make hiredis    hiredis $(HIREDIS_VERSION) from THIRD_PARTY, installed
#                   in build/hiredis-$(HIREDIS_VERSION) (for HIREDIS=)
#
# Building (docs/testing.md):
#   NGINX_VERSION=V  another nginx: 1.22.1 (the default) comes from
#                   Debian's source package, others from
#                   THIRD_PARTY/nginx-V.tar.gz, unpacked in build/src/
#   NGINX_SRC=DIR   an nginx source tree (a release or a git checkout)
#   NGINX_CC_OPT, NGINX_LD_OPT, NGINX_CONFIGURE  configure arguments
#   HIREDIS=PREFIX  the hiredis installed in PREFIX instead of the
#                   system's (headers and library are checked to agree)
#   TEST_NGINX_REAL=1  make test* under the real Test::Nginx
#                   (THIRD_PARTY/test-nginx.tar.gz, unpacked in build/)
# Any version or tree other than the default builds in its own
# build/objs-TAG and build/nginx-TAG (TAG: v1.30.4, src-NAME); a change of
# the settings above reconfigures and rebuilds.

SHELL           := /bin/bash

BUILD           := $(CURDIR)/build
THIRD_PARTY     ?= $(firstword $(wildcard $(CURDIR)/../shared/third-party \
                       $(CURDIR)/../../shared/third-party))
NGINX_VERSION   ?= 1.22.1
ifeq ($(origin NGINX_SRC),undefined)
  ifeq ($(NGINX_VERSION),1.22.1)
    NGINX_SRC   := $(BUILD)/nginx-1.22.1
    NGINX_TAG   ?=
  else
    NGINX_SRC   := $(BUILD)/src/nginx-$(NGINX_VERSION)
    NGINX_TAG   ?= -v$(NGINX_VERSION)
  endif
  NGINX_FETCH   := yes
else
  override NGINX_SRC := $(abspath $(NGINX_SRC))
  NGINX_TAG     ?= -src-$(notdir $(NGINX_SRC))
  NGINX_FETCH   :=
endif
NGINX_PREFIX    := $(BUILD)/nginx$(NGINX_TAG)
NGINX_OBJS      := $(BUILD)/objs$(NGINX_TAG)
NGINX           := $(NGINX_PREFIX)/sbin/nginx
NGINX_CC_OPT    ?= -O2 -g
NGINX_LD_OPT    ?=
NGINX_CONFIGURE ?= --with-debug --with-http_addition_module

HIREDIS         ?=
override HIREDIS := $(if $(HIREDIS),$(abspath $(HIREDIS)))
HIREDIS_VERSION ?= 1.4.1
TEST_NGINX_REAL ?=

DEB_SRC         := /usr/share/nginx/src
DEB_OBJS        := $(BUILD)/debian-objs
MODULE_SO       := $(BUILD)/ngx_http_wapress_module.so
# loaded before the module by make test-dynamic: it exports its own
# hiredis (issue 9)
DYNAMIC_PRELOAD ?= /usr/lib/nginx/modules/ngx_nchan_module.so

PORT            ?= 8080
REDIS_PORT      ?= 6400
TEST_REDIS_DIR  := $(BUILD)/test-redis

# A file holding the settings an nginx build was configured with,
# rewritten when they change, so that the configure step reruns:
# $(call settings,FILE,VARIABLE NAME)
settings = $(shell mkdir -p $(dir $1))$(if $(subst <$(file <$1)>,,<$($2)>)$\
           $(subst <$($2)>,,<$(file <$1)>),$(file >$1,$($2)))
NGINX_SETTINGS := src=$(NGINX_SRC) cc=$(NGINX_CC_OPT) ld=$(NGINX_LD_OPT) \
                  configure=$(NGINX_CONFIGURE) hiredis=$(HIREDIS)
DEB_SETTINGS   := hiredis=$(HIREDIS)
# (written at parse time, below; a missing one only means "changed")
$(BUILD)/%.settings: ;

SRCS  := $(wildcard ngx_wapress_module/*.c ngx_wapress_module/*.h)
UNIT_CFLAGS ?= -std=c99 -O1 -g -Wall -Wextra -Werror
UNIT  := $(BUILD)/unit/mustache_spec $(BUILD)/unit/mustache_render \
         $(BUILD)/unit/redis_slot

# sanitizers and fuzzing (docs/testing.md)
SAN_CC      ?= clang
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
ASAN_CC_OPT := -O1 -g $(SAN_FLAGS) \
    -fsanitize-ignorelist=$(CURDIR)/util/sanitizers/ubsan-nginx.ignore
ASAN_OBJS   := $(BUILD)/objs-asan$(NGINX_TAG)
ASAN_PREFIX := $(BUILD)/nginx-asan$(NGINX_TAG)
ASAN_NGINX  := $(ASAN_PREFIX)/sbin/nginx
ASAN_UNIT   := $(BUILD)/unit-asan/mustache_spec \
               $(BUILD)/unit-asan/mustache_render \
               $(BUILD)/unit-asan/redis_slot
ASAN_SETTINGS = $(NGINX_SETTINGS) cc=$(SAN_CC) asan=$(ASAN_CC_OPT)
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := marker marker_split mustache json_fragment
FUZZ_BIN    := $(addprefix $(BUILD)/fuzz/bin/,$(FUZZ_TARGETS))

.PHONY: all build modules unit test test-dynamic demo bench clean deps \
        style hiredis test-nginx-real test-build

all: build

build: $(NGINX)

deps:
	@util/deps.sh build

ifneq ($(MAKECMDGOALS),clean)
$(call settings,$(NGINX_OBJS).settings,NGINX_SETTINGS)
endif

# The source tree: fetched for NGINX_VERSION, given by NGINX_SRC.
$(NGINX_SRC)/src/core/nginx.h:
ifeq ($(NGINX_FETCH),yes)
	THIRD_PARTY=$(THIRD_PARTY) \
	    util/get-nginx.sh $(dir $(NGINX_SRC)) $(NGINX_VERSION)
else
	@echo "NGINX_SRC=$(NGINX_SRC) is not an nginx source tree" >&2; exit 1
endif

# nginx's ./configure, or auto/configure in a git checkout
NGINX_CONFIGURE_CMD = cd $(NGINX_SRC) && \
    if [ -x configure ]; then c=./configure; else c=auto/configure; fi && \
    WAPRESS_HIREDIS=$(HIREDIS) $$c

# HIREDIS=build/hiredis-$(HIREDIS_VERSION) is built by "make hiredis"
HIREDIS_DEP := $(if $(filter $(BUILD)/hiredis-$(HIREDIS_VERSION),$(HIREDIS)),\
                 $(BUILD)/hiredis-$(HIREDIS_VERSION)/include/hiredis/hiredis.h)

$(NGINX_OBJS)/Makefile: config $(NGINX_SRC)/src/core/nginx.h \
                        $(NGINX_OBJS).settings $(HIREDIS_DEP)
	@util/deps.sh build
	$(NGINX_CONFIGURE_CMD) --prefix=$(NGINX_PREFIX) \
	    --builddir=$(NGINX_OBJS) $(NGINX_CONFIGURE) \
	    --with-cc-opt='$(NGINX_CC_OPT)' --with-ld-opt='$(NGINX_LD_OPT)' \
	    --add-module=$(CURDIR)

$(NGINX): $(NGINX_OBJS)/Makefile $(SRCS)
	$(MAKE) -j$(JOBS) -C $(NGINX_SRC) -f $(NGINX_OBJS)/Makefile
	$(MAKE) -C $(NGINX_SRC) -f $(NGINX_OBJS)/Makefile install >/dev/null
	@touch $@

# hiredis from THIRD_PARTY, for HIREDIS=build/hiredis-$(HIREDIS_VERSION)
hiredis: $(BUILD)/hiredis-$(HIREDIS_VERSION)/include/hiredis/hiredis.h

$(BUILD)/hiredis-$(HIREDIS_VERSION)/include/hiredis/hiredis.h:
	@test -f $(THIRD_PARTY)/hiredis-$(HIREDIS_VERSION).tar.gz || { echo \
	    "no $(THIRD_PARTY)/hiredis-$(HIREDIS_VERSION).tar.gz" >&2; exit 1; }
	mkdir -p $(BUILD)/src
	rm -rf $(BUILD)/src/hiredis-$(HIREDIS_VERSION)
	tar xzf $(THIRD_PARTY)/hiredis-$(HIREDIS_VERSION).tar.gz -C $(BUILD)/src
	$(MAKE) -C $(BUILD)/src/hiredis-$(HIREDIS_VERSION) -j$(JOBS) \
	    PREFIX=$(BUILD)/hiredis-$(HIREDIS_VERSION) LIBRARY_PATH=lib \
	    install >$(BUILD)/hiredis-$(HIREDIS_VERSION).log

# The real Test::Nginx (TEST_NGINX_REAL=1), from THIRD_PARTY.
TEST_NGINX_LIB := $(BUILD)/test-nginx/lib

test-nginx-real: $(TEST_NGINX_LIB)/Test/Nginx/Socket.pm

$(TEST_NGINX_LIB)/Test/Nginx/Socket.pm:
	@test -f $(THIRD_PARTY)/test-nginx.tar.gz || { echo \
	    "no $(THIRD_PARTY)/test-nginx.tar.gz (THIRD_PARTY=DIR)" >&2; exit 1; }
	mkdir -p $(BUILD)
	rm -rf $(BUILD)/test-nginx
	tar xzf $(THIRD_PARTY)/test-nginx.tar.gz -C $(BUILD)
	@touch $@

REAL      = $(filter 1 yes,$(TEST_NGINX_REAL))
TEST_ENV  = $(if $(REAL),TEST_NGINX_LIB=$(TEST_NGINX_LIB))
TEST_DEPS = unit $(if $(REAL),test-nginx-real)

# A dynamic module for Debian's own nginx: configured with its flags from
# nginx-dev, in a private copy of /usr/share/nginx/src.  hiredis is in the
# .so with its symbols hidden: the check below fails the build if any
# redis* (or hiredis's sds*) symbol is exported.
modules: $(MODULE_SO)

ifneq ($(filter modules test-dynamic $(MODULE_SO),$(MAKECMDGOALS)),)
$(call settings,$(DEB_OBJS).settings,DEB_SETTINGS)
endif

$(MODULE_SO): config $(SRCS) $(DEB_OBJS).settings
	@util/deps.sh modules
	rm -rf $(BUILD)/debian-src && cp -r $(DEB_SRC) $(BUILD)/debian-src
	cd $(BUILD)/debian-src && . ./conf_flags && WAPRESS_HIREDIS=$(HIREDIS) \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --builddir=$(DEB_OBJS) \
	    --add-dynamic-module=$(CURDIR) >$(BUILD)/debian-configure.log
	$(MAKE) -j$(JOBS) -C $(BUILD)/debian-src -f $(DEB_OBJS)/Makefile modules
	@if nm -D --defined-only $(DEB_OBJS)/ngx_http_wapress_module.so \
	     | grep -E ' (redis|sds|hi_)'; then \
	    echo "$@ exports hiredis symbols (above)" >&2; exit 1; fi
	cp $(DEB_OBJS)/ngx_http_wapress_module.so $@
	@echo "built $@"

unit: $(UNIT)

# the hash slot has no dependency: linked alone
$(BUILD)/unit/redis_slot: t/unit/redis_slot.c \
                          ngx_wapress_module/ngx_http_wapress_redis_slot.c \
                          ngx_wapress_module/ngx_http_wapress_redis_slot.h
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -Ingx_wapress_module $< \
	    ngx_wapress_module/ngx_http_wapress_redis_slot.c -o $@

$(BUILD)/unit/%: t/unit/%.c ngx_wapress_module/ngx_http_wapress_mustache.c \
                 ngx_wapress_module/ngx_http_wapress_mustache.h \
                 ngx_wapress_module/ngx_http_wapress_json.c \
                 ngx_wapress_module/ngx_http_wapress_json.h \
                 ngx_wapress_module/ngx_http_wapress_json_arena.c
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -Ingx_wapress_module $< \
	    ngx_wapress_module/ngx_http_wapress_mustache.c \
	    ngx_wapress_module/ngx_http_wapress_json.c \
	    ngx_wapress_module/ngx_http_wapress_json_arena.c -ljansson -o $@

test:
	@util/deps.sh test
	$(MAKE) build $(TEST_DEPS)
	TEST_NGINX_BINARY=$(NGINX) $(TEST_ENV) util/run-tests.sh

# The build's own checks: configure's hiredis probes, hidden hiredis
# symbols, rebuilds on changed settings, git trees (util/build-checks.sh).
test-build:
	@util/deps.sh build
	util/build-checks.sh

# The same suite against Debian's /usr/sbin/nginx loading the dynamic
# module, after DYNAMIC_PRELOAD (nchan: its own hiredis).
test-dynamic:
	@util/deps.sh test
	$(MAKE) modules $(TEST_DEPS)
	@for m in $(DYNAMIC_PRELOAD); do test -f $$m || { echo \
	    "no $$m (apt-get install libnginx-mod-nchan)" >&2; exit 1; }; done
	TEST_NGINX_BINARY=/usr/sbin/nginx $(TEST_ENV) \
	    TEST_NGINX_LOAD_MODULES="$(DYNAMIC_PRELOAD) $(MODULE_SO)" \
	    util/run-tests.sh

# The benchmark (bench/README.md): WORKLOAD=example (the seed page) or site
# (10,000 articles).  Its nginx is built as for production: the same sources
# and module, NGINX_CONFIGURE without --with-debug, in build/objs-bench and
# build/nginx-bench (bench-build), so static and wapress run one binary.
WORKLOAD        ?= example
BENCH_CONFIGURE ?= $(filter-out --with-debug,$(NGINX_CONFIGURE))

bench:
	@util/deps.sh bench
	$(MAKE) bench-build
	BENCH_NGINX=$(BUILD)/nginx-bench/sbin/nginx WORKLOAD=$(WORKLOAD) \
	    bench/run.sh

.PHONY: bench-build
bench-build:
	$(MAKE) build NGINX_PREFIX=$(BUILD)/nginx-bench \
	    NGINX_OBJS=$(BUILD)/objs-bench NGINX_CONFIGURE='$(BENCH_CONFIGURE)'

# Sanitizers: a separate nginx (build/objs-asan, build/nginx-asan) and
# unit tests built with clang's ASan+UBSan; util/asan.sh runs them and
# fails on any report.  The ignore list holds nginx's own UBSan reports.
.PHONY: test-asan test-valgrind fuzz fuzz-build

test-asan:
	@util/deps.sh asan
	$(MAKE) $(TEST_DEPS) $(ASAN_NGINX) $(ASAN_UNIT)
	TEST_NGINX_BINARY=$(ASAN_NGINX) $(TEST_ENV) util/asan.sh

ifneq ($(filter test-asan $(ASAN_NGINX) $(ASAN_OBJS)/Makefile,$(MAKECMDGOALS)),)
$(call settings,$(ASAN_OBJS).settings,ASAN_SETTINGS)
endif

$(ASAN_OBJS)/Makefile: config $(NGINX_SRC)/src/core/nginx.h \
                       util/sanitizers/ubsan-nginx.ignore \
                       $(ASAN_OBJS).settings
	@util/deps.sh asan
	$(NGINX_CONFIGURE_CMD) --with-cc=$(SAN_CC) \
	    --prefix=$(ASAN_PREFIX) --builddir=$(ASAN_OBJS) \
	    $(NGINX_CONFIGURE) --with-cc-opt='$(ASAN_CC_OPT)' \
	    --with-ld-opt='$(SAN_FLAGS)' --add-module=$(CURDIR) \
	    >$(BUILD)/asan-configure.log

$(ASAN_NGINX): $(ASAN_OBJS)/Makefile $(SRCS)
	$(MAKE) -j$(JOBS) -C $(NGINX_SRC) -f $(ASAN_OBJS)/Makefile
	$(MAKE) -C $(NGINX_SRC) -f $(ASAN_OBJS)/Makefile install >/dev/null
	@touch $@

$(BUILD)/unit-asan/%: t/unit/%.c ngx_wapress_module/ngx_http_wapress_mustache.c \
                      ngx_wapress_module/ngx_http_wapress_mustache.h \
                      ngx_wapress_module/ngx_http_wapress_json.c \
                      ngx_wapress_module/ngx_http_wapress_json.h \
                      ngx_wapress_module/ngx_http_wapress_json_arena.c
	@util/deps.sh asan
	@mkdir -p $(dir $@)
	$(SAN_CC) $(UNIT_CFLAGS) $(SAN_FLAGS) -Ingx_wapress_module $< \
	    ngx_wapress_module/ngx_http_wapress_mustache.c \
	    ngx_wapress_module/ngx_http_wapress_json.c \
	    ngx_wapress_module/ngx_http_wapress_json_arena.c -ljansson -o $@

$(BUILD)/unit-asan/redis_slot: t/unit/redis_slot.c \
                               ngx_wapress_module/ngx_http_wapress_redis_slot.c
	@util/deps.sh asan
	@mkdir -p $(dir $@)
	$(SAN_CC) $(UNIT_CFLAGS) $(SAN_FLAGS) -Ingx_wapress_module $< \
	    ngx_wapress_module/ngx_http_wapress_redis_slot.c -o $@

# The suite under valgrind (nginx's own reports in valgrind.suppress).
test-valgrind:
	@util/deps.sh valgrind
	$(MAKE) build $(TEST_DEPS)
	TEST_NGINX_BINARY=$(NGINX) $(TEST_ENV) util/valgrind.sh

# libFuzzer targets (fuzz/): each runs FUZZ_SECONDS from its seeds in
# fuzz/corpus/TARGET; new inputs and crashes go to build/fuzz/.
fuzz:
	@util/deps.sh fuzz
	$(MAKE) fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) util/fuzz.sh $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BIN)

$(BUILD)/fuzz/bin/%: fuzz/%.c fuzz/fuzz_marker.h fuzz/fuzz_mustache.h \
                     ngx_wapress_module/ngx_http_wapress_marker.c \
                     ngx_wapress_module/ngx_http_wapress_marker.h \
                     ngx_wapress_module/ngx_http_wapress_scan.c \
                     ngx_wapress_module/ngx_http_wapress_scan.h \
                     ngx_wapress_module/ngx_http_wapress_mustache.c \
                     ngx_wapress_module/ngx_http_wapress_mustache.h \
                     ngx_wapress_module/ngx_http_wapress_json.c \
                     ngx_wapress_module/ngx_http_wapress_json.h \
                     ngx_wapress_module/ngx_http_wapress_json_arena.c
	@mkdir -p $(dir $@)
	$(SAN_CC) -g -O1 -fsanitize=fuzzer $(SAN_FLAGS) -Wall -Wextra -Werror \
	    -Ingx_wapress_module -Ifuzz $< \
	    $(if $(filter marker%,$*),ngx_wapress_module/ngx_http_wapress_marker.c) \
	    $(if $(filter marker_split,$*),ngx_wapress_module/ngx_http_wapress_scan.c) \
	    -ljansson -o $@

demo:
	@util/deps.sh demo
	$(MAKE) build
	PORT=$(PORT) REDIS_PORT=$(REDIS_PORT) util/demo.sh

style:
	util/style.sh

clean:
	rm -rf $(NGINX_OBJS) $(NGINX_PREFIX) $(BUILD)/unit $(DEB_OBJS) \
	    $(BUILD)/debian-src $(MODULE_SO) $(ASAN_OBJS) $(ASAN_PREFIX) \
	    $(NGINX_OBJS).settings $(ASAN_OBJS).settings $(DEB_OBJS).settings \
	    $(BUILD)/checks \
	    $(BUILD)/unit-asan $(BUILD)/fuzz/bin t/servroot*

# The Debian package (debian/, built with nginx-dev's dh sequence) and its
# end-to-end test: lintian, apt-get install, the example page served by
# Debian's /usr/sbin/nginx, apt-get purge (util/test-deb.sh; needs root).
.PHONY: deb test-deb

deb:
	@util/deps.sh deb
	util/deb.sh

test-deb:
	@util/deps.sh deb
	util/test-deb.sh

# The demo page in headless Chromium (util/test-browser.sh): fails on any
# failed sub-resource or console error; writes build/test-browser/page.png.
# make demo-screenshot refreshes docs/demo.png, the README's picture.
.PHONY: test-browser demo-screenshot

test-browser:
	@util/deps.sh browser
	$(MAKE) build
	util/test-browser.sh

demo-screenshot: test-browser
	convert $(BUILD)/test-browser/page.png -resize 1000x -strip +dither \
	    -colors 48 -define png:exclude-chunks=date,time PNG8:docs/demo.png

# Every ```nginx block of README.md and docs/*.md through nginx -t
# (util/check-docs.py; also t/210-docs.t in make test).
.PHONY: test-docs

test-docs:
	$(MAKE) build
	util/check-docs.py
