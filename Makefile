# Visionary Art. `make run` serves the embedded site; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
export HF_HUB_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint install install-dev system-deps messages clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel

# torch first and pinned: anything else lets pip pick a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev,mysql]"
	touch $@

install: $(VENV)/.installed

install-dev: system-deps $(VENV)/.installed-dev

system-deps:
	@bash .ci/system-deps.sh

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap
	$(PY) manage.py serve --host 127.0.0.1 --port 8000

test: install-dev
	DJANGO_SETTINGS_MODULE=visionary.settings.test $(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	DJANGO_SETTINGS_MODULE=visionary.settings.test $(PY) manage.py makemigrations --check --dry-run
	msgfmt --check -o /dev/null locale/zh_Hans/LC_MESSAGES/django.po

# Refresh the message catalogue after changing user-facing strings, then compile it.
messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=staticfiles
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var staticfiles .mypy_cache .ruff_cache .pytest_cache
