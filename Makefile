# Two set-up commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo clean

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	# An editable install is not byte-compiled; where PYTHONDONTWRITEBYTECODE is set, every
	# run would compile the package again.
	$(VENV)/bin/python -m compileall -q tap_close close_sandbox
	touch $(STAMP)

# No system package and no root needed: the target-postgres test starts its own server from
# the PostgreSQL wheel that the `dev` extra installs (tests/postgres.py).
test: $(STAMP)
	$(VENV)/bin/python -m pytest

demo: $(STAMP)
	PYTHON=$(PYTHON) bash demo/demo.sh

clean:
	rm -rf $(VENV) .venv-* .demo .bench build *.egg-info
