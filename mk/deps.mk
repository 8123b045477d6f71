# Third-party libraries that Debian ships only as shared objects are built
# here, statically, from Debian's own source packages (patches applied by
# dpkg-source), so our binaries behave exactly like Debian's tools.
# Nothing under $(DEPS_SRC) or $(DEPS) is committed.

DEPS_SRC := $(BUILD)/src
DEPS     := $(BUILD)/deps
DEPS_CFLAGS := -O2 -g -fno-omit-frame-pointer -fPIC
DEBIAN_SOURCE := DEBIAN_SOURCE_DIR=$(abspath $(DEPS_SRC)) $(abspath mk/debian-source.sh)

.PHONY: FORCE
FORCE:

# Which version: the newest source version apt knows, over every deb-src
# suite (tests/setup-debian.sh enables bookworm, -updates and -security),
# so a security update reaches our binaries. $(DEPS_SRC)/<package>.want
# holds it and is rewritten only when it changes: a library is rebuilt
# exactly when its source version moves, up or down, and a source tree of
# another version left in $(DEPS_SRC) is replaced (mk/debian-source.sh).
# $(call want-version,package,apt options)
define want-version
	@mkdir -p $(DEPS_SRC) && v=$$($(DEBIAN_SOURCE) newest $(1) $(2)) && \
	  if [ "$$(cat $(DEPS_SRC)/$(1).want 2>/dev/null)" != "$$v" ]; then \
	    echo "$$v" >$(DEPS_SRC)/$(1).want.$$$$ && mv -f $(DEPS_SRC)/$(1).want.$$$$ $(DEPS_SRC)/$(1).want; fi
endef
$(DEPS_SRC)/curl.want $(DEPS_SRC)/jq.want $(DEPS_SRC)/libonig.want: FORCE
	$(call want-version,$(basename $(@F)))

# $(call debian-source,package,apt options): fetch + unpack exactly the
# wanted version (once)
define debian-source
	$(DEBIAN_SOURCE) fetch $(DEPS_SRC) $(1) "$$(cat $(DEPS_SRC)/$(1).want)" $(2) >/dev/null
endef

# $(call record-source,package,source dir): what the library was built
# from, next to it ($@.source, "package version"): the binaries' --version
# lists it (mk/versions.sh)
define record-source
	echo "$(1) $$($(DEBIAN_SOURCE) unpacked $(2))" >$@.source
endef

# Worktrees may share one $(DEPS): a library is built under a lock, by a
# make started under it that decides again (another one may just have
# built it). Each library rule's recipe is
#   ifndef DEPS_LOCKED / +$(DEPS_LOCK) / else / the build / endif
DEPS_LOCK = @mkdir -p $(DEPS) && flock $(DEPS)/.lock $(MAKE) --no-print-directory DEPS_LOCKED=1 $@

$(DEPS)/lib/libonig.a: $(DEPS_SRC)/libonig.want
ifndef DEPS_LOCKED
	+$(DEPS_LOCK)
else
	$(call debian-source,libonig)
	cd $(DEPS_SRC)/libonig-*/ && { [ -x configure ] || autoreconf -fi >/dev/null 2>&1; } && \
	  ./configure -q --prefix=$(abspath $(DEPS)) --disable-shared --enable-static CFLAGS="$(DEPS_CFLAGS)" && \
	  $(MAKE) -s && $(MAKE) -s install
	$(call record-source,libonig,$(DEPS_SRC)/libonig-*/)
endif

# Our patches on top of Debian's (each applied once, marked by a stamp):
# - fast-builtins: libjq 1.6 spends ~70% of a short run binding its builtins
#   with quadratic passes; the patch computes the same bindings and the same
#   pruned program in linear passes (the jq corpus test proves the output
#   unchanged);
# - parser-leak: the JSON parser dropped a parsed value without freeing it
#   on "Expected separator between values" (found by fuzz_jq_input).
JQ_PATCHES := $(abspath $(wildcard mk/patches/jq-1.6-*.patch))

$(DEPS)/lib/libjq.a: $(DEPS_SRC)/jq.want $(DEPS)/lib/libonig.a $(JQ_PATCHES)
ifndef DEPS_LOCKED
	+$(DEPS_LOCK)
else
	$(call debian-source,jq)
	cd $(DEPS_SRC)/jq-1.6 && for p in $(JQ_PATCHES); do [ -e .patched-$$(basename $$p) ] && continue; patch -s -p1 < $$p && touch .patched-$$(basename $$p) || exit 1; done && { [ -x configure ] || autoreconf -fi >/dev/null 2>&1; } && \
	  ./configure -q --prefix=$(abspath $(DEPS)) --disable-shared --enable-static \
	    --disable-docs --disable-maintainer-mode --disable-valgrind \
	    --with-oniguruma=$(abspath $(DEPS)) CFLAGS="$(DEPS_CFLAGS)" && \
	  $(MAKE) -s src/builtin.inc src/version.h && $(MAKE) -s libjq.la && \
	  mkdir -p $(abspath $(DEPS))/include && \
	  cp .libs/libjq.a $(abspath $(DEPS))/lib/ && cp src/jq.h src/jv.h $(abspath $(DEPS))/include/
	$(call record-source,jq,$(DEPS_SRC)/jq-1.6)
endif

# jq's own test corpus, straight from the Debian source package
JQ_TEST_CORPUS := $(DEPS_SRC)/jq-1.6/tests/jq.test
$(JQ_TEST_CORPUS): $(DEPS)/lib/libjq.a
