# va-scan's test oracles from the npm registry, pinned: node-semver (the
# npm package `semver`) for test_version's generated range checks.
NODE_SEMVER_VERSION := 7.8.6
NODE_SEMVER := $(BUILD)/oracle/node-semver/node_modules/semver/package.json

$(NODE_SEMVER):
	@mkdir -p $(BUILD)/oracle/node-semver
	cd $(BUILD)/oracle/node-semver && npm install --no-audit --no-fund --ignore-scripts --no-save \
	  semver@$(NODE_SEMVER_VERSION) >/dev/null
	@test -f $@

$(BUILD)/asan/tests/test_version: | $(NODE_SEMVER)

# va-scan's modules in unit tests and fuzz targets: CVSS needs libm, the
# ignore file libyaml
$(BUILD)/asan/tests/test_vascan: COMMON_LIBS += -lyaml -lm
