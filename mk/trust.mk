# Signing and verification (common/pkcs11, vault, tuf, trust_verify, ...):
# OpenSSL's libcrypto (static in release builds) and the OASIS PKCS#11
# header from p11-kit (header only: modules are dlopen'ed at run time).
P11_CFLAGS := -isystem /usr/include/p11-kit-1
$(BUILD)/release/common/pkcs11.o $(BUILD)/asan/common/pkcs11.o $(BUILD)/tsan/common/pkcs11.o: BASE_CFLAGS += $(P11_CFLAGS)
$(BUILD)/fuzz/%: BASE_CFLAGS += $(P11_CFLAGS)
$(BUILD)/fuzz/%: COMMON_LIBS += -lcrypto
$(BUILD)/asan/tests/%: COMMON_LIBS += -lcrypto
