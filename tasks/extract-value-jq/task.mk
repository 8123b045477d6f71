extract-value-jq_LIBS := -ljq -lonig -lm
extract-value-jq_DEPS := $(DEPS)/lib/libjq.a
