# A minimal static libcurl from Debian's curl source package (patches
# applied by dpkg-source): HTTP and HTTPS only, OpenSSL for TLS, zlib for
# Content-Encoding. Debian's own libcurl.a pulls LDAP, RTMP, GSSAPI, SSH,
# PSL, IDN, brotli and nghttp2, none of which a scratch image can carry.
# Only lib/ and include/ are built (no curl tool, no docs): about a minute
# on two cores.
#
# For tasks' task.mk:
#   <task>_LIBS := $(CURL_LIBS)
#   <task>_DEPS := $(CURL_DEP)

CURL_DEP  := $(DEPS)/lib/libcurl.a
CURL_LIBS := -lcurl -lssl -lcrypto -lz -lpthread -ldl

CURL_CONFIGURE_FLAGS := --disable-shared --enable-static --disable-dependency-tracking \
	--enable-http --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp \
	--disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb \
	--disable-smtp --disable-gopher --disable-mqtt --disable-manual --disable-ntlm \
	--disable-ntlm-wb --disable-tls-srp --disable-alt-svc --disable-hsts --disable-websockets \
	--disable-netrc --disable-doh --disable-cookies --disable-mime --disable-unix-sockets \
	--enable-threaded-resolver --enable-proxy --enable-http-auth --enable-verbose \
	--disable-openssl-auto-load-config \
	--with-openssl --with-zlib --without-zstd --without-brotli --without-libpsl \
	--without-libidn2 --without-librtmp --without-nghttp2 --without-ngtcp2 --without-nghttp3 \
	--without-libgsasl --without-hyper --without-quiche --without-msh3 \
	--with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --with-ca-path=/etc/ssl/certs

# Our patch on top of Debian's (applied once, marked by a stamp):
# - resumed-session-without-certificate: a TLS session that common/
#   tlsresume kept on disk holds no server certificate (decoding it cost
#   every resuming process more than the rest of its handshake); libcurl
#   accepts such a session when OpenSSL resumed it with a verified result,
#   since its chain and host name were verified when it was made (and it
#   is offered only for that host, under the same trust settings).
CURL_PATCHES := $(abspath $(wildcard mk/patches/curl-7.88-*.patch))

$(CURL_DEP): $(DEPS_SRC)/curl.want $(CURL_PATCHES)
ifndef DEPS_LOCKED
	+$(DEPS_LOCK)
else
	$(call debian-source,curl)
	cd $(DEPS_SRC)/curl-7.*/ && \
	  for p in $(CURL_PATCHES); do [ -e .patched-$$(basename $$p) ] && continue; \
	    patch -s -p1 < $$p && touch .patched-$$(basename $$p) || exit 1; done && \
	  ./configure -q --prefix=$(abspath $(DEPS)) $(CURL_CONFIGURE_FLAGS) CFLAGS="$(DEPS_CFLAGS)" >/dev/null && \
	  $(MAKE) -s -C lib libcurl.la && \
	  mkdir -p $(abspath $(DEPS))/lib $(abspath $(DEPS))/include/curl && \
	  cp lib/.libs/libcurl.a $(abspath $(DEPS))/lib/libcurl.a.tmp && \
	  cp include/curl/*.h $(abspath $(DEPS))/include/curl/ && \
	  mv $(abspath $(DEPS))/lib/libcurl.a.tmp $(abspath $(DEPS))/lib/libcurl.a
	$(call record-source,curl,$(DEPS_SRC)/curl-7.*/)
endif

# common/ sources that include <curl/curl.h> (all of them, if a common
# header does) are compiled only once our libcurl's headers are installed
# (order-only: a rebuilt libcurl does not recompile them; its headers'
# changes reach them through -MMD)
COMMON_CURL_SRC := $(if $(shell grep -l '^\#include <curl/' common/*.h),$(COMMON_SRC),$(shell grep -l '^\#include <curl/' common/*.c))
$(foreach f,release asan fuzz,$(patsubst %.c,$(BUILD)/$(f)/%.o,$(COMMON_CURL_SRC))): | $(CURL_DEP)
