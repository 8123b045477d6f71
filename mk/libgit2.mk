# libgit2 for git-clone, built statically from Debian's trixie source
# package. bookworm ships libgit2 1.5, which cannot clone shallow (that came
# in 1.7); trixie's 1.9 can. The trixie sources index lives in a private apt
# state under $(DEPS_SRC)/apt-trixie, so the system's apt configuration is
# left alone while apt still checks the archive signatures (mk/trixie.mk).
#
# Debian repacks the tarball (+ds) without the bundled llhttp, pcre, zlib and
# ntlmclient, so those come from bookworm's static libraries instead:
# http-parser 2.9, zlib and OpenSSL 3; libssh2 (SSH without an ssh binary,
# which a FROM scratch image does not have) is trixie's 1.11, built here
# (mk/libssh2.mk): bookworm's 1.10 cannot sign with rsa-sha2-256/512, so
# OpenSSH >= 8.8 servers refuse RSA keys from it. One patch of ours:
# mk/libgit2-http-proxy.patch (http:// remotes behind an http proxy).

# The trixie state (mk/trixie.mk) gives the newest libgit2 trixie serves.
$(DEPS_SRC)/libgit2.want: trixie-apt FORCE
	$(call want-version,libgit2,$(TRIXIE_APT_OPTS))

$(DEPS)/lib/libgit2.a: $(DEPS_SRC)/libgit2.want $(DEPS)/lib/libssh2.a mk/libgit2-http-proxy.patch
ifndef DEPS_LOCKED
	+$(DEPS_LOCK)
else
	$(call debian-source,libgit2,$(TRIXIE_APT_OPTS))
	cd $(DEPS_SRC)/libgit2-1.9*/ && { [ -f .pipeline-patched ] || \
	  { patch -s -p1 < $(abspath mk/libgit2-http-proxy.patch) && touch .pipeline-patched; }; }
	rm -rf $(DEPS_SRC)/libgit2-build && mkdir -p $(DEPS_SRC)/libgit2-build
	cd $(DEPS_SRC)/libgit2-build && PKG_CONFIG_PATH=$(abspath $(DEPS))/lib/pkgconfig cmake -S $$(ls -d ../libgit2-1.9*/ | head -1) -B . -Wno-dev \
	  -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$(DEPS_CFLAGS)" \
	  -DCMAKE_INSTALL_PREFIX=$(abspath $(DEPS)) -DCMAKE_INSTALL_LIBDIR=lib \
	  -Dssh2_RESOLVED=$(abspath $(DEPS))/lib/libssh2.a \
	  -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTS=OFF -DBUILD_CLI=OFF -DBUILD_EXAMPLES=OFF \
	  -DUSE_HTTPS=OpenSSL -DUSE_SHA1=CollisionDetection -DUSE_SHA256=HTTPS -DUSE_SSH=libssh2 \
	  -DUSE_HTTP_PARSER=http-parser -DREGEX_BACKEND=regcomp -DUSE_BUNDLED_ZLIB=OFF \
	  -DUSE_GSSAPI=OFF -DUSE_NTLMCLIENT=OFF -DUSE_ICONV=OFF -DENABLE_REPRODUCIBLE_BUILDS=ON >/dev/null
	$(MAKE) -s -C $(DEPS_SRC)/libgit2-build
	$(MAKE) -s -C $(DEPS_SRC)/libgit2-build install >/dev/null
	$(call record-source,libgit2,$(DEPS_SRC)/libgit2-1.9*/)
endif
