# Two commands on a fresh machine (Python 3.11+, pip, node/npm): `make run` and `make test`.
PYTHON ?= python3
PORT ?= 5000
# the suite runs on every core (pytest-xdist); `make test PYTEST_ARGS=` runs it in one process
PYTEST_ARGS ?= -n auto
HOST ?= 127.0.0.1
VENV := .venv
BIN := $(VENV)/bin
VENDOR := crm/static/vendor

.PHONY: run test lint bootstrap assets clean

bootstrap: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# the front-end packages, and the browser tests' devDependencies (axe-core: read from
# node_modules by tests/e2e/axe.py, never copied into crm/static); --include=dev keeps them
# even where NODE_ENV=production
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --include=dev
	touch $@

assets: $(VENDOR)/.copied

$(VENDOR)/.copied: node_modules/.package-lock.json
	mkdir -p $(VENDOR)/bootstrap $(VENDOR)/bootstrap-icons/fonts
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map $(VENDOR)/bootstrap/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map $(VENDOR)/bootstrap/
	cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css $(VENDOR)/bootstrap-icons/
	cp node_modules/bootstrap-icons/font/fonts/* $(VENDOR)/bootstrap-icons/fonts/
	mkdir -p $(VENDOR)/echarts
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/
	cp node_modules/echarts/LICENSE $(VENDOR)/echarts/
	touch $@

run: bootstrap
	$(BIN)/crm db upgrade
	$(BIN)/crm seed demo --if-empty
	$(BIN)/crm search --reindex --if-empty
	$(BIN)/crm seed admin
	@echo "科技红娘 CRM: http://$(HOST):$(PORT)/"
	$(BIN)/crm run --host $(HOST) --port $(PORT)

test: bootstrap
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/bandit -q -c pyproject.toml -r crm

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache
