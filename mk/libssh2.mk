# libssh2 for git-clone (libgit2's SSH transport), built statically from
# Debian trixie's source package (the private apt state of mk/trixie.mk).
# bookworm ships 1.10, which signs with RSA keys only as ssh-rsa (SHA-1):
# OpenSSH >= 8.8 and the big git hosts refuse that, so an RSA deploy key
# could not clone. 1.11 negotiates rsa-sha2-512/256 (server-sig-algs).
# Same crypto (OpenSSL 3) and zlib as the rest of the binary.

$(DEPS_SRC)/libssh2.want: trixie-apt FORCE
	$(call want-version,libssh2,$(TRIXIE_APT_OPTS))

$(DEPS)/lib/libssh2.a: $(DEPS_SRC)/libssh2.want
ifndef DEPS_LOCKED
	+$(DEPS_LOCK)
else
	$(call debian-source,libssh2,$(TRIXIE_APT_OPTS))
	rm -rf $(DEPS_SRC)/libssh2-build && mkdir -p $(DEPS_SRC)/libssh2-build
	cd $(DEPS_SRC)/libssh2-build && cmake -S $$(ls -d ../libssh2-1.*/ | head -1) -B . -Wno-dev \
	  -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$(DEPS_CFLAGS)" \
	  -DCMAKE_INSTALL_PREFIX=$(abspath $(DEPS)) -DCMAKE_INSTALL_LIBDIR=lib \
	  -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON -DBUILD_EXAMPLES=OFF -DBUILD_TESTING=OFF \
	  -DCRYPTO_BACKEND=OpenSSL -DENABLE_ZLIB_COMPRESSION=ON -DENABLE_DEBUG_LOGGING=OFF >/dev/null
	$(MAKE) -s -C $(DEPS_SRC)/libssh2-build
	$(MAKE) -s -C $(DEPS_SRC)/libssh2-build install >/dev/null
	$(call record-source,libssh2,$(DEPS_SRC)/libssh2-1.*/)
endif
