# libgit2 1.9 from Debian trixie's source (mk/libgit2.mk), over bookworm's
# static http-parser, libssh2, OpenSSL and zlib.
git-clone_LIBS := -lgit2 -lhttp_parser -lssh2 -lssl -lcrypto -lz -lpthread -lrt
git-clone_DEPS := $(DEPS)/lib/libgit2.a
