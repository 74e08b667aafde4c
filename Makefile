# Two set-up commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo bench clean postgres

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	# An editable install is not byte-compiled; where PYTHONDONTWRITEBYTECODE is set, every
	# run would compile the package again.
	$(VENV)/bin/python -m compileall -q tap_close close_sandbox
	touch $(STAMP)

test: $(STAMP) postgres
	$(VENV)/bin/python -m pytest

# The target-postgres test starts its own server from Debian's postgresql package.
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql package for the target-postgres test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

demo: $(STAMP)
	PYTHON=$(PYTHON) bash demo/demo.sh

clean:
	rm -rf $(VENV) .venv-* .demo .bench build *.egg-info
