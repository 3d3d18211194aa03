# The front door. `make demo` and `make test` are all a newcomer needs.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# A project-local Dagster home (git-ignored, SQLite) unless the caller sets one.
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# Dagster writes a range run's per-partition events in batches only where this is above 0
# (the shipped event log then writes each batch in one transaction); 0 writes one by one.
export DAGSTER_EVENT_BATCH_SIZE ?= 1000

.PHONY: install demo ui cluster-demo cluster-ui test lint format fixtures producers bench bench-quick bench-full screenshot clean

# The C extensions (word loop, row builder, ASCII85, content-stream scan) are built by the install:
# a changed source installs again.
C_SOURCES := $(wildcard cc_perf_dagster/core/*.c)
$(VENV)/.installed: pyproject.toml $(C_SOURCES)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# The package's bytecode, written ahead (as installing a wheel does): where PYTHONDONTWRITEBYTECODE
# is set (as on the reference machines) Python otherwise compiles every cc_perf_dagster module
# again in every process, each command and step process included. Up-to-date files are skipped.
install: $(VENV)/.installed  ## create .venv and install the package with its dev extras
	$(PY) -m compileall -q cc_perf_dagster benchmarks

demo: install  ## materialize every test invoice through Dagster and print a table per invoice
	$(VENV)/bin/cc-perf process --dagster-home "$(DAGSTER_HOME)" test_invoices

ui: install  ## the Dagster UI on http://127.0.0.1:3000 with the same Dagster home; the sensor watches ./incoming
	$(PY) -m cc_perf_dagster.instance
	mkdir -p incoming
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

cluster-demo: install  ## the demo on the cluster profile: 2 Celery workers, a fresh PostgreSQL database (needs PostgreSQL and Redis on loopback)
	scripts/cluster_demo.sh

# The cluster's own home (its dagster.yaml points at PostgreSQL), never the local one.
CLUSTER_HOME ?= $(CURDIR)/.dagster_home_cluster
UI_PORT ?= 3000
cluster-ui: install  ## webserver and daemon on the cluster profile (set CC_PERF_STORAGE, CC_PERF_CACHE_KEY, CC_PERF_DATABASE_URL; workers: scripts/cluster_worker.sh)
	CC_PERF_PROFILE=cluster DAGSTER_HOME="$(CLUSTER_HOME)" $(PY) -m cc_perf_dagster.instance
	mkdir -p incoming
	CC_PERF_PROFILE=cluster DAGSTER_HOME="$(CLUSTER_HOME)" $(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

# The Node.js packages producer tests print with (jsPDF and its autotable plugin for test_jspdf.py,
# pdfmake for test_pdfmake.py, PDFKit and pdfkit-table for test_pdfkit_table.py), at the releases
# each folder's package-lock.json pins (npm), installed into the virtualenv ($(VENV)/jspdf, ...),
# beside the Python packages and out of the tree.
NPM_FIXTURES := cc_perf_dagster_tests/fixtures
$(VENV)/%/.installed: $(VENV)/.installed $(NPM_FIXTURES)/%/package.json $(NPM_FIXTURES)/%/package-lock.json
	@if command -v npm >/dev/null; then \
		mkdir -p $(VENV)/$* && cp $(NPM_FIXTURES)/$*/package.json $(NPM_FIXTURES)/$*/package-lock.json $(VENV)/$*/ && \
		npm ci --prefix $(VENV)/$* --omit=optional --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the tests printing with $* skip (they fail under CI=true)"; fi

test: install $(VENV)/jspdf/.installed $(VENV)/pdfmake/.installed $(VENV)/pdfkit_table/.installed  ## run the whole test suite
	$(PY) -m pytest

lint: install  ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

fixtures: install  ## regenerate test_invoices/ (byte-identical)
	$(PY) -m cc_perf_dagster_tests.fixtures.generate

producers: install  ## regenerate test_invoices/producers/ and unreadable/ (needs chromium, firefox-esr, wkhtmltopdf, weasyprint, libreoffice-writer-nogui, libreoffice-calc-nogui, texlive-latex-base, texlive-fonts-recommended, poppler-utils, ghostscript, mupdf-tools, qpdf, fonts; installs PyMuPDF and typst)
	$(PY) -c "import pymupdf, typst" 2>/dev/null || $(PY) -m pip install --quiet "pymupdf>=1.26" "typst>=0.13"
	$(PY) -m cc_perf_dagster_tests.fixtures.producers

bench: install  ## benchmarks, ratios against baselines measured in the same run; writes benchmarks/REPORT.md
	$(PY) -c "import matplotlib, invoice2data" 2>/dev/null || $(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) -m benchmarks

bench-quick: install  ## a short subset of the benchmarks (a few minutes), same outputs
	$(PY) -c "import matplotlib, invoice2data" 2>/dev/null || $(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) -m benchmarks --quick

bench-full: install  ## make bench plus one run per partition at 500 invoices (about 40 minutes more)
	$(PY) -c "import matplotlib, invoice2data" 2>/dev/null || $(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) -m benchmarks --full

screenshot: install  ## refresh the README screenshot of the Dagster UI
	$(PY) scripts/screenshot_ui.py

clean:
	rm -rf $(VENV) .dagster_home .dagster_home_cluster .pytest_cache .ruff_cache
