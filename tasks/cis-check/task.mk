cis-check_LIBS := -lyaml
