# libcrypto for keys; PKCS#11 modules are dlopen'ed (glibc static dlopen:
# the module and its shared dependencies must match the host's glibc).
signer-key_LIBS := -lcrypto
