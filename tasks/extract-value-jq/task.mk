extract-value-jq_LIBS := -ljq -lonig -lm -lcrypto
extract-value-jq_DEPS := $(DEPS)/lib/libjq.a
