check-health_LIBS := -ljq -lonig -lm -lyaml $(CURL_LIBS)
check-health_DEPS := $(DEPS)/lib/libjq.a $(CURL_DEP)
