# Third-party libraries that Debian ships only as shared objects are built
# here, statically, from Debian's own source packages (patches applied by
# dpkg-source), so our binaries behave exactly like Debian's tools.
# Nothing under $(DEPS_SRC) or $(DEPS) is committed.

DEPS_SRC := $(BUILD)/src
DEPS     := $(BUILD)/deps
DEPS_CFLAGS := -O2 -g -fno-omit-frame-pointer -fPIC

# $(call debian-source,package,dir-glob): fetch + unpack a source package once
define debian-source
	mkdir -p $(DEPS_SRC)
	cd $(DEPS_SRC) && { ls -d $(2) >/dev/null 2>&1 || apt-get source -qq $(1)/bookworm >/dev/null 2>&1 || apt-get source $(1)/bookworm; }
endef

$(DEPS)/lib/libonig.a:
	$(call debian-source,libonig,libonig-*/)
	cd $(DEPS_SRC)/libonig-*/ && { [ -x configure ] || autoreconf -fi >/dev/null 2>&1; } && \
	  ./configure -q --prefix=$(abspath $(DEPS)) --disable-shared --enable-static CFLAGS="$(DEPS_CFLAGS)" && \
	  $(MAKE) -s && $(MAKE) -s install

# Our patches on top of Debian's (each applied once, marked by a stamp):
# - fast-builtins: libjq 1.6 spends ~70% of a short run binding its builtins
#   with quadratic passes; the patch computes the same bindings and the same
#   pruned program in linear passes (the jq corpus test proves the output
#   unchanged);
# - parser-leak: the JSON parser dropped a parsed value without freeing it
#   on "Expected separator between values" (found by fuzz_jq_input).
JQ_PATCHES := $(abspath $(wildcard mk/patches/jq-1.6-*.patch))

$(DEPS)/lib/libjq.a: $(DEPS)/lib/libonig.a $(JQ_PATCHES)
	$(call debian-source,jq,jq-1.6/)
	cd $(DEPS_SRC)/jq-1.6 && for p in $(JQ_PATCHES); do [ -e .patched-$$(basename $$p) ] && continue; patch -s -p1 < $$p && touch .patched-$$(basename $$p) || exit 1; done && { [ -x configure ] || autoreconf -fi >/dev/null 2>&1; } && \
	  ./configure -q --prefix=$(abspath $(DEPS)) --disable-shared --enable-static \
	    --disable-docs --disable-maintainer-mode --disable-valgrind \
	    --with-oniguruma=$(abspath $(DEPS)) CFLAGS="$(DEPS_CFLAGS)" && \
	  $(MAKE) -s src/builtin.inc src/version.h && $(MAKE) -s libjq.la && \
	  mkdir -p $(abspath $(DEPS))/include && \
	  cp .libs/libjq.a $(abspath $(DEPS))/lib/ && cp src/jq.h src/jv.h $(abspath $(DEPS))/include/

# jq's own test corpus, straight from the Debian source package
JQ_TEST_CORPUS := $(DEPS_SRC)/jq-1.6/tests/jq.test
$(JQ_TEST_CORPUS): $(DEPS)/lib/libjq.a
