# libgit2 1.9 and libssh2 1.11 from Debian trixie's sources (mk/libgit2.mk,
# mk/libssh2.mk), over bookworm's static http-parser, OpenSSL and zlib.
git-clone_LIBS := -lgit2 -lhttp_parser -lssh2 -lssl -lcrypto -lz -lpthread -lrt
git-clone_DEPS := $(DEPS)/lib/libgit2.a $(DEPS)/lib/libssh2.a
