docker-lint_LIBS := -lyaml
