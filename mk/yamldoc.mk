# libyaml (static archive from libyaml-dev) for common/yamldoc: deployment
# YAML, Tekton YAML and lint configs. Tasks using it add -lyaml to their
# <task>_LIBS; unit tests and fuzz targets link every common module.
$(BUILD)/fuzz/%: COMMON_LIBS += -lyaml
$(BUILD)/asan/tests/%: COMMON_LIBS += -lyaml
