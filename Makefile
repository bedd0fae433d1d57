# mlgov-jupyter: `make demo` to try it, `make test` to run every test (browser tests included).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
DEMO_DIR ?= $(CURDIR)/.demo
PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install demo team-demo test test-fast bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Editable install: builds the TypeScript sidebar (needs Node >= 20.19) and links it into JupyterLab.
install: $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/jupyter labextension develop --overwrite . >/dev/null
	$(BIN)/jupyter server extension enable mlgov_jupyter >/dev/null

demo: install
	mkdir -p $(DEMO_DIR)
	cp -n binder/demo.ipynb $(DEMO_DIR)/ || true
	JUPYTER_DATA_DIR=$(DEMO_DIR)/data $(BIN)/python -m mlgov_jupyter.demo
	JUPYTER_DATA_DIR=$(DEMO_DIR)/data $(BIN)/jupyter lab --port $(PORT) $(ROOT_FLAG) \
		--ServerApp.root_dir=$(DEMO_DIR) --LabApp.default_url=/lab/tree/demo.ipynb \
		--MlgovApp.admin_users="$$(id -un)"

# Team mode on this machine (run as root): JupyterHub with mlgov serve as user mlgov, Unix users
# alice, bob and mallory; prints the URL and the password; Ctrl-C stops it. TEAM_DB_URL: a PostgreSQL store.
team-demo: install
	MLGOV_TEAM_DB_URL='$(TEAM_DB_URL)' $(BIN)/python -m mlgov_jupyter.team_demo

# The team-mode tests (tests/hub: JupyterHub, real Unix users) and the scheduled monitor (which waits
# for the clock's minutes) mostly wait: they run alongside the rest, their output printed after it.
# The rest runs in two processes (pytest-xdist), each test file whole in one of them.
test: install
	@$(BIN)/python -m pytest -q -p no:cacheprovider --durations=10 tests/hub tests/test_monitor_schedule.py \
	    > .test-alongside.log 2>&1 & alongside=$$!; \
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=25 --ignore=tests/hub \
	    --ignore=tests/test_monitor_schedule.py; rest=$$?; \
	wait $$alongside; along=$$?; \
	echo "==== run alongside: tests/hub tests/test_monitor_schedule.py (exit $$along) ===="; \
	cat .test-alongside.log; \
	exit $$(( rest != 0 ? rest : along ))

test-fast: $(BIN)/python
	$(BIN)/python -m pytest -q -m "not browser"

# Drift check vs the NumPy floor, NannyML, a SciPy loop and Evidently on equal work (1M x 50 and
# 200k x 20, cold processes, interleaved; NannyML and Evidently in their own venv with pandas<3; the
# quick one skips the slow peers), then the policy engine's cost per decision and per request, and
# %load_ext's time. Before them: the data plane (publish/use of 10M rows through a running service) and
# one data-quality monitor run over 10M captured rows x 50 (in the service, on Dask, vs check() in
# memory and Evidently's preset).
bench: install
	$(BIN)/python benchmarks/data_plane.py --rows 10000000
	$(BIN)/python benchmarks/monitor_run.py --rows 10000000 --evidently-rows 200000
	bash benchmarks/run.sh
	$(BIN)/python benchmarks/policy_benchmark.py
	$(BIN)/python benchmarks/request_overhead.py
	$(BIN)/python benchmarks/catalog_search.py --assets 100000
	@if [ -n "$$MLGOV_TEST_PG_URL" ] && [ -n "$$BENCH_PG_1M" ]; then \
	  $(BIN)/python benchmarks/catalog_search.py --assets 1000000 --db postgresql --reps 20; \
	 else echo "catalog_search.py at 1M on PostgreSQL skipped: set MLGOV_TEST_PG_URL and BENCH_PG_1M=1"; fi
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/python benchmarks/team_overhead.py; \
	 else echo "team_overhead.py skipped: needs root (the hub creates users)"; fi

bench-quick: install
	$(BIN)/python benchmarks/data_plane.py --rows 1000000
	$(BIN)/python benchmarks/monitor_run.py --rows 1000000 --peer-python none
	bash benchmarks/run.sh --quick
	$(BIN)/python benchmarks/policy_benchmark.py
	$(BIN)/python benchmarks/request_overhead.py
	$(BIN)/python benchmarks/catalog_search.py --assets 10000 --reps 20 --seconds 2 --publishes 50
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/python benchmarks/team_overhead.py; \
	 else echo "team_overhead.py skipped: needs root (the hub creates users)"; fi

clean:
	rm -rf $(VENV) $(DEMO_DIR) mlgov_jupyter/labextension node_modules labextension/lib
