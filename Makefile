# ngx_wapress_module: build, test, demo and benchmark entry points.
#
#   make            nginx $(NGINX_VERSION) with the module compiled in,
#                   at build/nginx/sbin/nginx (NGINX_SRC=DIR: another tree)
#   make modules    build/ngx_http_wapress_module.so for Debian's nginx
#   make test       the whole suite: unit tests and Test::Nginx (prove -r t)
#   make demo       the example page at http://127.0.0.1:$(PORT)/
#   make unit       only the C unit tests
#   make test-dynamic  the suite against Debian's nginx and the .so
#   make bench      the benchmark (bench/README.md)
#   make test-asan  the suite against nginx built with ASan+UBSan (clang)
#   make test-valgrind  the suite under valgrind (docs/testing.md)
#   make fuzz       the libFuzzer targets in fuzz/, FUZZ_SECONDS=60 each
#   make deb        build/libnginx-mod-http-wapress_<version>_<arch>.deb
#   make test-deb   lintian, apt-get install, serve the page, purge (root)
#   make test-browser  the demo page in headless Chromium, a screenshot
#   make test-docs  every ```nginx block of README.md and docs/ via nginx -t

SHELL           := /bin/bash

NGINX_VERSION   ?= 1.22.1
BUILD           := $(CURDIR)/build
NGINX_SRC       ?= $(BUILD)/nginx-$(NGINX_VERSION)
NGINX_PREFIX    := $(BUILD)/nginx
NGINX_OBJS      := $(BUILD)/objs
NGINX           := $(NGINX_PREFIX)/sbin/nginx
NGINX_CC_OPT    ?= -O2 -g
NGINX_LD_OPT    ?=
NGINX_CONFIGURE ?= --with-debug --with-http_addition_module

DEB_SRC         := /usr/share/nginx/src
DEB_OBJS        := $(BUILD)/debian-objs
MODULE_SO       := $(BUILD)/ngx_http_wapress_module.so

PORT            ?= 8080
REDIS_PORT      ?= 6400
TEST_REDIS_DIR  := $(BUILD)/test-redis

SRCS  := $(wildcard ngx_wapress_module/*.c ngx_wapress_module/*.h)
UNIT_CFLAGS ?= -std=c99 -O1 -g -Wall -Wextra -Werror
UNIT  := $(BUILD)/unit/mustache_spec $(BUILD)/unit/mustache_render

# sanitizers and fuzzing (docs/testing.md)
SAN_CC      ?= clang
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
ASAN_CC_OPT := -O1 -g $(SAN_FLAGS) \
    -fsanitize-ignorelist=$(CURDIR)/util/sanitizers/ubsan-nginx.ignore
ASAN_OBJS   := $(BUILD)/objs-asan
ASAN_NGINX  := $(BUILD)/nginx-asan/sbin/nginx
ASAN_UNIT   := $(BUILD)/unit-asan/mustache_spec \
               $(BUILD)/unit-asan/mustache_render
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := marker marker_split mustache json_fragment
FUZZ_BIN    := $(addprefix $(BUILD)/fuzz/bin/,$(FUZZ_TARGETS))

.PHONY: all build modules unit test test-dynamic demo bench clean deps \
        style

all: build

build: $(NGINX)

deps:
	@util/deps.sh build

$(NGINX_SRC)/configure:
	util/get-nginx.sh $(BUILD)

$(NGINX_OBJS)/Makefile: config $(NGINX_SRC)/configure
	@util/deps.sh build
	cd $(NGINX_SRC) && ./configure --prefix=$(NGINX_PREFIX) \
	    --builddir=$(NGINX_OBJS) $(NGINX_CONFIGURE) \
	    --with-cc-opt='$(NGINX_CC_OPT)' --with-ld-opt='$(NGINX_LD_OPT)' \
	    --add-module=$(CURDIR)

$(NGINX): $(NGINX_OBJS)/Makefile $(SRCS)
	$(MAKE) -C $(NGINX_SRC) -f $(NGINX_OBJS)/Makefile
	$(MAKE) -C $(NGINX_SRC) -f $(NGINX_OBJS)/Makefile install >/dev/null
	@touch $@

# A dynamic module for Debian's own nginx: configured with its flags from
# nginx-dev, in a private copy of /usr/share/nginx/src.
modules: $(MODULE_SO)

$(MODULE_SO): config $(SRCS)
	@util/deps.sh modules
	rm -rf $(BUILD)/debian-src && cp -r $(DEB_SRC) $(BUILD)/debian-src
	cd $(BUILD)/debian-src && . ./conf_flags && ./configure \
	    "$${NGX_CONF_FLAGS[@]}" --builddir=$(DEB_OBJS) \
	    --add-dynamic-module=$(CURDIR) >$(BUILD)/debian-configure.log
	$(MAKE) -C $(BUILD)/debian-src -f $(DEB_OBJS)/Makefile modules
	cp $(DEB_OBJS)/ngx_http_wapress_module.so $@
	@echo "built $@"

unit: $(UNIT)

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
	$(MAKE) build unit
	util/run-tests.sh

# The same suite against Debian's /usr/sbin/nginx loading the dynamic module.
test-dynamic:
	@util/deps.sh test
	$(MAKE) modules unit
	TEST_NGINX_BINARY=/usr/sbin/nginx \
	    TEST_NGINX_LOAD_MODULES=$(MODULE_SO) util/run-tests.sh

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
	$(MAKE) unit $(ASAN_NGINX) $(ASAN_UNIT)
	util/asan.sh

$(ASAN_OBJS)/Makefile: config $(NGINX_SRC)/configure \
                       util/sanitizers/ubsan-nginx.ignore
	@util/deps.sh asan
	cd $(NGINX_SRC) && ./configure --with-cc=$(SAN_CC) \
	    --prefix=$(BUILD)/nginx-asan --builddir=$(ASAN_OBJS) \
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

# The suite under valgrind (nginx's own reports in valgrind.suppress).
test-valgrind:
	@util/deps.sh valgrind
	$(MAKE) build unit
	util/valgrind.sh

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
	    $(BUILD)/debian-src $(MODULE_SO) $(ASAN_OBJS) $(BUILD)/nginx-asan \
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
