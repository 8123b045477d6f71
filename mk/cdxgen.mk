# @cyclonedx/cdxgen from the npm registry, pinned: the oracle of bom's npm
# components (tests/integration/bom.sh) and its peer in tests/bench/bom.sh.
# Installed under the build folder, never committed; offline afterwards.
CDXGEN_VERSION := 12.8.4
CDXGEN_DIR := $(BUILD)/oracle/cdxgen-$(CDXGEN_VERSION)
CDXGEN := $(CDXGEN_DIR)/node_modules/.bin/cdxgen

.PHONY: cdxgen
cdxgen: $(CDXGEN)
$(CDXGEN):
	@mkdir -p $(CDXGEN_DIR)
	cd $(CDXGEN_DIR) && npm install --no-audit --no-fund --ignore-scripts --omit=optional \
	  --prefix . @cyclonedx/cdxgen@$(CDXGEN_VERSION) >install.log 2>&1 || { cat install.log; exit 1; }
	@test -x $@
