# A private apt state for Debian trixie's source packages (libgit2 and
# libssh2 are built from them: mk/libgit2.mk, mk/libssh2.mk). It lives under
# $(DEPS_SRC)/apt-trixie, so the system's apt configuration is left alone
# while apt still checks the archive signatures (debian-archive-keyring).
#
# Its sources (trixie, -updates and -security) and lists are updated when
# the sources change or the lists are a day old, so trixie's security
# updates reach git-clone too (a failed update keeps the old lists).

TRIXIE_APT := $(abspath $(DEPS_SRC))/apt-trixie
TRIXIE_APT_OPTS := -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$(TRIXIE_APT)/sources.list.d \
	-o Dir::State::Lists=$(TRIXIE_APT)/lists -o Dir::Cache=$(TRIXIE_APT)/cache -o Debug::NoLocking=1
TRIXIE_SOURCES := Types: deb-src|URIs: http://deb.debian.org/debian|Suites: trixie trixie-updates|Components: main|Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg||Types: deb-src|URIs: http://deb.debian.org/debian-security|Suites: trixie-security|Components: main|Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

# once per make run, before any trixie package's .want is decided; under a
# lock, since two makes (or two worktrees sharing $(DEPS_SRC)) may update
# the lists at once and apt's own locking is off for this state
.PHONY: trixie-apt
trixie-apt:
	@mkdir -p $(TRIXIE_APT)/sources.list.d $(TRIXIE_APT)/lists/partial $(TRIXIE_APT)/cache/archives/partial
	@printf '%s\n' '$(TRIXIE_SOURCES)' | tr '|' '\n' >$(TRIXIE_APT)/trixie-src.sources.$$$$ && \
	  if cmp -s $(TRIXIE_APT)/trixie-src.sources.$$$$ $(TRIXIE_APT)/sources.list.d/trixie-src.sources; then \
	    rm -f $(TRIXIE_APT)/trixie-src.sources.$$$$; \
	  else mv -f $(TRIXIE_APT)/trixie-src.sources.$$$$ $(TRIXIE_APT)/sources.list.d/trixie-src.sources; fi
	@stamp=$(TRIXIE_APT)/lists/.updated; \
	  if [ ! -e $$stamp ] || [ $(TRIXIE_APT)/sources.list.d/trixie-src.sources -nt $$stamp ] || \
	     [ -z "$$(find $$stamp -mmin -1440)" ]; then \
	    flock $(TRIXIE_APT)/.lock apt-get $(TRIXIE_APT_OPTS) -qq update && touch $$stamp || \
	      echo "mk/trixie.mk: apt-get update of the trixie sources failed; using the lists as they are" >&2; fi
