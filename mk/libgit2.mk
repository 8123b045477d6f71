# libgit2 for git-clone, built statically from Debian's trixie source
# package. bookworm ships libgit2 1.5, which cannot clone shallow (that came
# in 1.7); trixie's 1.9 can. The trixie sources index lives in a private apt
# state under $(DEPS_SRC)/apt-trixie, so the system's apt configuration is
# left alone while apt still checks the archive signatures.
#
# Debian repacks the tarball (+ds) without the bundled llhttp, pcre, zlib and
# ntlmclient, so those come from bookworm's static libraries instead:
# http-parser 2.9, zlib, OpenSSL 3 and libssh2 (SSH without an ssh binary,
# which a FROM scratch image does not have). One patch of ours:
# mk/libgit2-http-proxy.patch (http:// remotes behind an http proxy).

LIBGIT2_APT := $(abspath $(DEPS_SRC))/apt-trixie
LIBGIT2_APT_OPTS := -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$(LIBGIT2_APT)/sources.list.d \
	-o Dir::State::Lists=$(LIBGIT2_APT)/lists -o Dir::Cache=$(LIBGIT2_APT)/cache -o Debug::NoLocking=1

# The private state's sources (trixie, -updates and -security) and lists:
# updated when the sources change or the lists are a day old, so trixie's
# security updates reach git-clone too (a failed update keeps the old lists)
LIBGIT2_SOURCES := Types: deb-src|URIs: http://deb.debian.org/debian|Suites: trixie trixie-updates|Components: main|Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg||Types: deb-src|URIs: http://deb.debian.org/debian-security|Suites: trixie-security|Components: main|Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
$(DEPS_SRC)/libgit2.want: FORCE
	@mkdir -p $(LIBGIT2_APT)/sources.list.d $(LIBGIT2_APT)/lists/partial $(LIBGIT2_APT)/cache/archives/partial
	@printf '%s\n' '$(LIBGIT2_SOURCES)' | tr '|' '\n' >$(LIBGIT2_APT)/trixie-src.sources.$$$$ && \
	  if cmp -s $(LIBGIT2_APT)/trixie-src.sources.$$$$ $(LIBGIT2_APT)/sources.list.d/trixie-src.sources; then \
	    rm -f $(LIBGIT2_APT)/trixie-src.sources.$$$$; \
	  else mv -f $(LIBGIT2_APT)/trixie-src.sources.$$$$ $(LIBGIT2_APT)/sources.list.d/trixie-src.sources; fi
	@stamp=$(LIBGIT2_APT)/lists/.updated; \
	  if [ ! -e $$stamp ] || [ $(LIBGIT2_APT)/sources.list.d/trixie-src.sources -nt $$stamp ] || \
	     [ -z "$$(find $$stamp -mmin -1440)" ]; then \
	    apt-get $(LIBGIT2_APT_OPTS) -qq update && touch $$stamp || \
	      echo "mk/libgit2.mk: apt-get update of the trixie sources failed; using the lists as they are" >&2; fi
	$(call want-version,libgit2,$(LIBGIT2_APT_OPTS))

$(DEPS)/lib/libgit2.a: $(DEPS_SRC)/libgit2.want mk/libgit2-http-proxy.patch
ifndef DEPS_LOCKED
	+$(DEPS_LOCK)
else
	$(call debian-source,libgit2,$(LIBGIT2_APT_OPTS))
	cd $(DEPS_SRC)/libgit2-1.9*/ && { [ -f .pipeline-patched ] || \
	  { patch -s -p1 < $(abspath mk/libgit2-http-proxy.patch) && touch .pipeline-patched; }; }
	rm -rf $(DEPS_SRC)/libgit2-build && mkdir -p $(DEPS_SRC)/libgit2-build
	cd $(DEPS_SRC)/libgit2-build && cmake -S $$(ls -d ../libgit2-1.9*/ | head -1) -B . -Wno-dev \
	  -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$(DEPS_CFLAGS)" \
	  -DCMAKE_INSTALL_PREFIX=$(abspath $(DEPS)) -DCMAKE_INSTALL_LIBDIR=lib \
	  -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTS=OFF -DBUILD_CLI=OFF -DBUILD_EXAMPLES=OFF \
	  -DUSE_HTTPS=OpenSSL -DUSE_SHA1=CollisionDetection -DUSE_SHA256=HTTPS -DUSE_SSH=libssh2 \
	  -DUSE_HTTP_PARSER=http-parser -DREGEX_BACKEND=regcomp -DUSE_BUNDLED_ZLIB=OFF \
	  -DUSE_GSSAPI=OFF -DUSE_NTLMCLIENT=OFF -DUSE_ICONV=OFF -DENABLE_REPRODUCIBLE_BUILDS=ON >/dev/null
	$(MAKE) -s -C $(DEPS_SRC)/libgit2-build
	$(MAKE) -s -C $(DEPS_SRC)/libgit2-build install >/dev/null
	$(call record-source,libgit2,$(DEPS_SRC)/libgit2-1.9*/)
endif
