# One entry point: build, static, check, demo, bench.
#
#   make            every task as a fully static binary in bin/<task>
#   make check      static checks, unit, CLI golden, jq corpus, fuzz (short),
#                   integration; all under ASan/UBSan; ends "N passed, N failed,
#                   N skipped" (a skip fails in CI: tests/run-all.sh)
#   make bench      our binaries side by side with their peers (ratios, peak RSS)
#   make mutants    mutation test of the security checks (tests/mutants/*.mut);
#                   ends "N killed, N survived"
#   make demo       the main job on the sample app, with the embedded defaults
#
# Each task lives in tasks/<name>/ (all its .c files) and may add a
# tasks/<name>/task.mk setting <name>_LIBS (extra link flags) and
# <name>_DEPS (third-party archives it needs built first).

BUILD    ?= build
CC       ?= gcc
FUZZ_CC  ?= clang
PIPELINE_VERSION := $(shell cat VERSION)

TASKS    := $(notdir $(patsubst %/,%,$(wildcard tasks/*/)))
# binaries that run Tekton resources rather than being a Task: no tekton/*.yaml
RUNNERS  := pipeline-run
# long-running servers (a Deployment, not a Task): no tekton/*.yaml either
SERVERS  := image-admission
TEKTON_TASKS := $(filter-out $(RUNNERS) $(SERVERS),$(TASKS))
COMMON_SRC := $(wildcard common/*.c)

include mk/deps.mk
-include $(filter-out mk/deps.mk,$(wildcard mk/*.mk))
-include $(wildcard tasks/*/task.mk)

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers
BASE_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -DPIPELINE_VERSION='"$(PIPELINE_VERSION)"' \
            -Icommon -isystem $(DEPS)/include -MMD -MP
COMMON_LIBS := -ljansson

# flavour: release (static, optimised) and asan (sanitizers, for tests)
release_CFLAGS := -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
release_LDFLAGS := -static -Wl,--gc-sections
asan_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
asan_LDFLAGS := -fsanitize=address,undefined
# tsan: the threaded paths (build-sign's two halves, the key decryption
# thread, the PKCS#11 agent's lock), for make tsan
tsan_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
tsan_LDFLAGS := -fsanitize=thread
fuzz_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
               -Wno-unused-command-line-argument
release_CC = $(CC)
asan_CC = $(CC)
tsan_CC = $(CC)
fuzz_CC = $(FUZZ_CC)

.PHONY: all static asan tsan check bench demo clean setup fuzz help tekton images mutants
.DEFAULT_GOAL := all

all: $(addprefix bin/,$(TASKS))
static: all

# $(1) = flavour
define flavour_rules
$(BUILD)/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$($(1)_CC) $$(BASE_CFLAGS) $$($(1)_CFLAGS) -c $$< -o $$@

$(BUILD)/$(1)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $$(@D)
	$$($(1)_CC) $$(BASE_CFLAGS) $$($(1)_CFLAGS) -c $$< -o $$@

# common/http.c includes the headers of our libcurl build: they must be
# installed before any libcommon object compiles (a -j2 build from an empty
# tree raced: "curl/curl.h: No such file or directory")
$(patsubst %.c,$(BUILD)/$(1)/%.o,$(COMMON_SRC)): | $(CURL_DEP)
# and common/jq_program + json_stream include libjq's
$(BUILD)/$(1)/common/jq_program.o $(BUILD)/$(1)/common/json_stream.o: | $(DEPS)/lib/libjq.a

$(BUILD)/$(1)/libcommon.a: $(patsubst %.c,$(BUILD)/$(1)/%.o,$(COMMON_SRC))
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach f,release asan tsan fuzz,$(eval $(call flavour_rules,$(f))))

# glibc's "Using 'getaddrinfo' in statically linked applications requires at
# runtime the shared libraries..." warnings are expected (DESIGN.md: files
# and dns name services are built into static libc; dlopen is only used for
# PKCS#11 modules); drop them and the "in function" line naming each.
FILTER_STATIC_WARNINGS = awk '/: in function `/ { held = $$$$0; next } \
	/statically linked applications requires at runtime/ { held = ""; next } \
	{ if (held != "") print held; held = ""; print } END { if (held != "") print held }'

# The third-party sources linked into each binary, for its --version
# (mk/versions.sh): regenerated when a library of ours is rebuilt or a
# Debian package changes (dpkg's status file)
DPKG_STATUS := $(wildcard /var/lib/dpkg/status)

# $(1) = task name
define task_rules
$(1)_SRC := $$(wildcard tasks/$(1)/*.c)
$$(foreach f,release asan tsan fuzz,$$(patsubst %.c,$(BUILD)/$$(f)/%.o,$$($(1)_SRC))): | $$($(1)_DEPS)

$(BUILD)/gen/$(1)-versions.c: mk/versions.sh $(DPKG_STATUS) $$($(1)_DEPS)
	@mkdir -p $$(@D)
	mk/versions.sh $(DEPS) $(1) $$($(1)_LIBS) $$(COMMON_LIBS) -lc >$$@.tmp && mv -f $$@.tmp $$@

bin/$(1): $$(patsubst %.c,$(BUILD)/release/%.o,$$($(1)_SRC)) $(BUILD)/release/gen/$(1)-versions.o $(BUILD)/release/libcommon.a $$($(1)_DEPS)
	@mkdir -p bin
	@rm -f $$@
	$$(CC) $$(release_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(BUILD)/release/libcommon.a -L$(DEPS)/lib $$($(1)_LIBS) $$(COMMON_LIBS) 2>&1 | $(FILTER_STATIC_WARNINGS)
	@test -x $$@

$(BUILD)/asan/bin/$(1): $$(patsubst %.c,$(BUILD)/asan/%.o,$$($(1)_SRC)) $(BUILD)/asan/gen/$(1)-versions.o $(BUILD)/asan/libcommon.a $$($(1)_DEPS)
	@mkdir -p $$(@D)
	$$(CC) $$(asan_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(BUILD)/asan/libcommon.a -L$(DEPS)/lib $$($(1)_LIBS) $$(COMMON_LIBS)

$(BUILD)/tsan/bin/$(1): $$(patsubst %.c,$(BUILD)/tsan/%.o,$$($(1)_SRC)) $(BUILD)/tsan/gen/$(1)-versions.o $(BUILD)/tsan/libcommon.a $$($(1)_DEPS)
	@mkdir -p $$(@D)
	$$(CC) $$(tsan_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(BUILD)/tsan/libcommon.a -L$(DEPS)/lib $$($(1)_LIBS) $$(COMMON_LIBS)
endef
$(foreach t,$(TASKS),$(eval $(call task_rules,$(t))))

asan: $(addprefix $(BUILD)/asan/bin/,$(TASKS))

# ThreadSanitizer over the signing tasks' threads: the signing integration
# run with TSan binaries (its stress section too, a few runs of each vault
# and format); any race report makes a run exit 66, failing its test. Not
# part of check: it takes minutes more than the ASan run of the same suite.
TSAN_TASKS := build-sign verify-signatures signer-key dct-init
tsan: all $(addprefix $(BUILD)/tsan/bin/,$(TSAN_TASKS))
	@PIPELINE_BIN=$(abspath $(BUILD)/tsan/bin) PIPELINE_STATIC_BIN=$(abspath bin) PIPELINE_BUILD=$(abspath $(BUILD)) \
	  SIGNING_STRESS_BIN=$(abspath $(BUILD)/tsan/bin) SIGNING_STRESS_RUNS=$(TSAN_STRESS_RUNS) \
	  TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 $(TSAN_OPTIONS)" \
	  tests/integration/signing.sh
TSAN_STRESS_RUNS ?= 3

# ---- tests -------------------------------------------------------------
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/asan/tests/%,$(UNIT_SRC))
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
# Each fuzz target fuzzes this long in check (26 targets: 2.6 minutes of
# fuzzing, 4.3 minutes with start-up measured on a busy 2-core machine)
FUZZ_SECONDS ?= 6
TEST_LOGS  := $(BUILD)/test-logs

# Task modules a test names in a "// unit-sources:" (unit) or
# "// fuzz-sources:" (fuzz) line are linked in, as prerequisites: a change
# to one relinks the test (and a mutant of one reaches it).
named_objs = $(patsubst %.c,$(BUILD)/$(2)/%.o,$(shell sed -n 's|^// $(1)-sources: ||p' $(3)))
.SECONDEXPANSION:

# the third-party sources unit tests link (test_task prints them)
$(BUILD)/gen/tests-versions.c: mk/versions.sh $(DPKG_STATUS) $(CURL_DEP)
	@mkdir -p $(@D)
	mk/versions.sh $(DEPS) unit-tests $(COMMON_LIBS) $(IMAGE_LIBS) -lcrypto -lyaml -lc >$@.tmp && mv -f $@.tmp $@

# (our libcurl, as the tasks have it: common/tlsresume relies on its patch)
$(BUILD)/asan/tests/%: tests/unit/%.c $$(call named_objs,unit,asan,tests/unit/$$*.c) tests/unit/testing.h \
		tests/unit/testserver.h $(BUILD)/asan/gen/tests-versions.o $(BUILD)/asan/libcommon.a $(CURL_DEP)
	@mkdir -p $(@D)
	@echo "  UNIT $@"
	@$(CC) $(BASE_CFLAGS) $(asan_CFLAGS) -Itests/unit $(asan_LDFLAGS) -o $@ $< $(filter %.o,$^) \
	  $(BUILD)/asan/libcommon.a -L$(DEPS)/lib $(COMMON_LIBS)

# libFuzzer targets link the fuzz flavour of libcommon ("// fuzz-libs:"
# adds flags).
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(call named_objs,fuzz,fuzz,tests/fuzz/fuzz_$$*.c) \
		$(BUILD)/fuzz/libcommon.a | $(DEPS)/lib/libjq.a
	@echo "  FUZZ $@"
	@$(FUZZ_CC) $(filter-out -MMD -MP,$(BASE_CFLAGS)) $(fuzz_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	  $(filter %.o,$^) $(BUILD)/fuzz/libcommon.a -L$(DEPS)/lib $$(sed -n 's|^// fuzz-libs: ||p' $<) $(COMMON_LIBS)

fuzz: $(FUZZ_BINS)

setup:
	@tests/setup-debian.sh

check: setup
	@$(MAKE) --no-print-directory all asan $(UNIT_BINS) $(FUZZ_BINS)
	@rm -rf $(TEST_LOGS) && mkdir -p $(TEST_LOGS)
	@tests/run-all.sh $(BUILD) $(FUZZ_SECONDS)

bench: setup all
	@tests/bench/run.sh

# Every tests/mutants/*.mut mutant applied to a scratch copy of the tree
# (build/mutants/slot-N), rebuilt incrementally and run against its test;
# fails on any survivor. Not part of check (it takes many minutes: each
# mutant relinks and runs a suite); check only validates the .mut files.
# MUTANTS_JOBS=N runs N mutants at once; MUTANTS_ARGS="--only ID" one.
MUTANTS_JOBS ?= 1
mutants: setup
	@python3 tests/mutants/run.py -j $(MUTANTS_JOBS) $(MUTANTS_ARGS)

demo: setup all
	@examples/demo.sh

# task images (containers/Containerfile: FROM scratch + stripped static
# binary + passwd + CA bundle), built by our own containerize from a staging
# directory per task into one OCI layout, $(BUILD)/images (tag = task); prints
# each image's compressed size against the 5 MB goal.
# `make images REGISTRY=host[:port]/ns` also pushes <ns>/<task>:<version>
# (REGISTRY_CA, REGISTRY_AUTHFILE: a CA bundle, a Docker config.json) and
# writes IMAGES_LIST (`task image@sha256:...`), which `make tekton` then uses
# for every step's image.
IMAGES_LIST ?= $(BUILD)/images.txt
images: all
	containers/images.sh --bin=bin --out=$(BUILD) --list=$(IMAGES_LIST) \
	  $(if $(REGISTRY),--registry=$(REGISTRY)) $(if $(REGISTRY_CA),--ca-file=$(REGISTRY_CA)) \
	  $(if $(REGISTRY_AUTHFILE),--authfile=$(REGISTRY_AUTHFILE)) $(TASKS)

# regenerate tekton/<task>.yaml from each binary's --describe
# (step images pinned by digest when `make images REGISTRY=...` wrote IMAGES_LIST)
tekton: all
	python3 tekton/generate.py $(if $(wildcard $(IMAGES_LIST)),--images=$(IMAGES_LIST)) \
		--compat=tekton/compat:tekton/compat bin tekton $(TEKTON_TASKS)

clean:
	rm -rf $(BUILD)/release $(BUILD)/asan $(BUILD)/tsan $(BUILD)/fuzz $(BUILD)/mutants $(BUILD)/gen $(TEST_LOGS) bin

distclean:
	rm -rf $(BUILD) bin

-include $(shell find $(BUILD)/release $(BUILD)/asan $(BUILD)/fuzz -name '*.d' 2>/dev/null)
