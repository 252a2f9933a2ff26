# entra.membership: development tasks. `make help` lists them; `make test` is what CI runs.
#
# Everything runs from a venv under the repo (.venv, git-ignored) built from the pinned
# requirements, so a machine with only Python 3.11 and a package index gets the same tools.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
VENV_STAMP := $(VENV)/.entra-membership-requirements
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check --quiet
# The venv's tools call each other by name (ansible-lint -> ansible-playbook, ansible-test -> ...).
export PATH := $(BIN):$(PATH)

# ansible-test wants the collection at .../ansible_collections/<namespace>/<name>/ and resolves
# the working directory physically, so it gets a copy (tests/conftest.py keeps its own symlink
# under .build/collections/ for pytest and ansible-playbook).
BUILD := $(CURDIR)/.build
TREE := $(BUILD)/ansible_collections/entra/membership
DIST := $(BUILD)/dist
INSTALLED := $(BUILD)/galaxy-install
EE_STAGE := $(BUILD)/ee
EE_CONTEXT := $(BUILD)/ee-context
DOCS_SITE := $(BUILD)/docs

VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(DIST)/entra-membership-$(VERSION).tar.gz
MODULES = $(sort $(basename $(notdir $(filter-out %/__init__.py,$(wildcard plugins/modules/*.py)))))

SANITY_PYTHON := 3.11
# Two xdist workers, one per core of the CI machine (measured: docs/development.md, Timings).
# `make pytest PYTEST_WORKERS=0` runs in one process, to debug.
PYTEST_WORKERS ?= 2
# worksteal: a worker that runs out of tests takes some from the other, so one long end-to-end
# test near the end does not leave a core idle.
PYTEST_XDIST = $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist worksteal,)
# Coverage of the collection's code as it is imported (through tests/conftest.py's
# ansible_collections path), whichever tests load it.
PYTEST_COV := --cov=ansible_collections.entra.membership.plugins --cov-report=term:skip-covered

# The ansible-core matrix (docs/development.md, "Every ansible-core we claim"): core:python:suite.
# .venv is ansible-core 2.19 with every tool; each core here gets .venv-<core> with the test
# libraries only (requirements-test.txt), locked by constraints-core-<core>.txt. Suites: `full`
# is every unit and integration test, as `make pytest` runs them but without coverage; `light`
# is `full` less the tests marked `heavy` (long end-to-end runs whose code paths lighter tests
# cover on every core: pytest.ini), so that `make test` stays within CI's budget; `subset` is
# MATRIX_SUBSET. The simulator's own tests (tests/graphsim/) do not depend on the core and run
# in `make pytest` only. `make matrix-full` runs `full` on every core. The Python comes from
# .ci/find-python.
MATRIX := 2.16:3.11:light 2.20:3.12:subset 2.21:3.13:light
MATRIX_SUITE ?=
MATRIX_FULL := tests/unit tests/integration
MATRIX_SUBSET := tests/unit tests/integration/test_contract.py tests/integration/test_offboard_role.py
core_suite = $(or $(MATRIX_SUITE),$(call core_field,$(1),3))
# What a core whose Python is missing does: `skip` (a loud line, and the summary at the end of
# `make test` names it) or `fail`.
MISSING_PYTHON ?= skip
MISSING_VERDICT = $(if $(filter skip,$(MISSING_PYTHON)),SKIPPED,FAILED (MISSING_PYTHON=$(MISSING_PYTHON)))
# ansible-test sanity runs with the newest core of the matrix, or .venv's when its Python is missing.
SANITY_CORE := $(lastword $(sort $(foreach entry,$(MATRIX),$(firstword $(subst :, ,$(entry))))))
core_field = $(word $(2),$(subst :, ,$(filter $(1):%,$(MATRIX))))
MATRIX_RECORD := $(BUILD)/matrix
TEST_REQUIREMENTS := requirements.txt requirements-test.txt tests/graphsim/requirements.txt

# galaxy-importer, in its own venv (its pins clash with requirements-dev.txt), with Automation
# Hub's checks and without ansible-test's container: .ci/galaxy-importer.cfg.
IMPORTER_VENV := .venv-importer
IMPORTER_CONFIG := $(CURDIR)/.ci/galaxy-importer.cfg
IMPORTER_WORK := $(BUILD)/importer
# What galaxy-importer reports that is not ours to fix: its flake8 runs on every file that
# ansible-doc names as a plugin's documentation, so on the YAML files that document the filters
# (plugins/filter/<filter>.yml, the layout ansible-core documents), and finds them not Python.
IMPORTER_ACCEPTED := ^WARNING: plugins/filter/[a-z0-9_]+\.yml:[0-9]+:[0-9]+: E999 SyntaxError

BENCH_SCRIPT ?= tests/benchmarks/run.py

define banner
	@printf '\n==> %s\n' $(1)
endef

.PHONY: help
help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## /  make \1\t/' | expand -t 22

# ---------------------------------------------------------------------------------------------
# The CI pipeline, in order, stopping at the first failure.
# ---------------------------------------------------------------------------------------------
TEST_STEPS := venv sanity imports pytest matrix simulator lint reuse changelog-lint docs-lint galaxy importer ee docs

.PHONY: test
test:  ## everything CI runs: sanity, imports, pytest, the ansible-core matrix, lint, changelog/docs lint, build+install, galaxy-importer, EE, docs site
	@total_start=$$(date +%s); \
	$(MAKE) tree; \
	rm -rf $(MATRIX_RECORD); \
	for step in $(TEST_STEPS); do \
		step_start=$$(date +%s); \
		$(MAKE) $$step REUSE_TREE=1 || { echo "==> make test: FAILED in step '$$step'"; exit 1; }; \
		echo "==> $$step: $$(( $$(date +%s) - step_start ))s"; \
	done; \
	$(MAKE) matrix-summary; \
	echo "==> make test: all steps passed in $$(( $$(date +%s) - total_start ))s"

# ---------------------------------------------------------------------------------------------
# venv: created when missing, re-installed when a requirements file changes (stamp file).
# ---------------------------------------------------------------------------------------------
.PHONY: venv
venv: $(VENV_STAMP)  ## create/update .venv (ansible-core 2.19, every tool) from requirements-dev.txt + constraints-dev.txt

$(VENV_STAMP): $(TEST_REQUIREMENTS) requirements-dev.txt constraints-dev.txt
	$(call banner,"venv: $(VENV) with the pinned requirements")
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-dev.txt -c constraints-dev.txt
	touch $@

.PHONY: lock
lock: venv  ## re-pin every constraints*.txt from its venv (after changing a requirements file or a core's pin)
	@# The header of each lock (down to its "# Regenerate" line) stays; the pins are the venv's.
	@for pair in constraints-dev.txt:$(VENV) $(IMPORTER_VENV:.venv-%=constraints-%.txt:.venv-%) \
			$(foreach entry,$(MATRIX),constraints-core-$(firstword $(subst :, ,$(entry))).txt:.venv-$(firstword $(subst :, ,$(entry)))); do \
		lock=$${pair%%:*}; venv=$${pair#*:}; \
		if [ ! -x $$venv/bin/python ]; then echo "lock: $$lock unchanged ($$venv does not exist)"; continue; fi; \
		{ sed -n '1,/^# Regenerate/p' $$lock; $$venv/bin/python -m pip freeze --exclude-editable; } > $$lock.new; \
		mv $$lock.new $$lock; touch $$venv/.entra-membership-requirements; echo "lock: $$lock from $$venv"; \
	done

# ---------------------------------------------------------------------------------------------
# The ansible_collections/entra/membership copy for ansible-test and the galaxy build: exactly
# the files git would commit (tracked + untracked-not-ignored), nothing from a previous run.
# ---------------------------------------------------------------------------------------------
.PHONY: tree
tree:  ## the ansible_collections/entra/membership copy in .build/ (what sanity, docs-lint and build use)
	@if [ -n "$(REUSE_TREE)" ] && [ -d $(TREE)/.git ]; then echo "tree: reusing $(TREE)"; exit 0; fi; \
	echo "tree: git ls-files --cached --others --exclude-standard | tar -> $(TREE)"; \
	rm -rf $(BUILD)/ansible_collections; \
	mkdir -p $(TREE); \
	git ls-files -z --cached --others --exclude-standard \
		| while IFS= read -r -d '' path; do if [ -e "$$path" ] || [ -L "$$path" ]; then printf '%s\0' "$$path"; fi; done \
		| tar --null --files-from=- --create --file=- \
		| tar --extract --file=- --directory=$(TREE); \
	git -C $(TREE) init --quiet; \
	echo "tree: $$(find $(TREE) -path $(TREE)/.git -prune -o -type f -print | wc -l) files"
	@# ansible-test lists a collection's files with git when it finds a .git above it; the
	@# repo's own would ignore the whole copy (.build/ is git-ignored), so the copy has its own.

# ---------------------------------------------------------------------------------------------
# ansible-test sanity, offline: the get-pip stand-in replaces the download it would make.
# ---------------------------------------------------------------------------------------------
.PHONY: sanity
sanity: venv tree  ## ansible-test sanity --venv on the copy with the newest ansible-test (every test that runs offline)
	@mkdir -p $(MATRIX_RECORD)
	@sanity_python=$(call core_field,$(SANITY_CORE),2); \
	if .ci/find-python $$sanity_python > /dev/null; then \
		$(MAKE) .venv-$(SANITY_CORE)/.entra-membership-requirements && \
		$(MAKE) ansible-test-sanity SANITY_BIN=$(CURDIR)/.venv-$(SANITY_CORE)/bin SANITY_PYTHON=$$sanity_python && \
		echo "sanity with ansible-test $(SANITY_CORE) on Python $$sanity_python" > $(MATRIX_RECORD)/sanity; \
	else \
		line="sanity with ansible-test $$($(BIN)/python -c 'import ansible; print(ansible.__version__)') from $(VENV): ansible-test $(SANITY_CORE) $(MISSING_VERDICT), no Python $$sanity_python on this machine"; \
		printf '\n==> sanity: %s\n' "$$line"; echo "$$line" > $(MATRIX_RECORD)/sanity; \
		test "$(MISSING_PYTHON)" = skip && $(MAKE) ansible-test-sanity SANITY_BIN=$(BIN) SANITY_PYTHON=$(SANITY_PYTHON); \
	fi

.PHONY: ansible-test-sanity
ansible-test-sanity:
	$(call banner,"sanity: $(SANITY_BIN)/ansible-test sanity --venv --python $(SANITY_PYTHON)")
	$(SANITY_BIN)/python hacking/ansible-test-offline/install.py $(SANITY_PYTHON)
	@# ansible-test looks for pythonX.Y on PATH: the venv's, not a pyenv shim that may refuse.
	cd $(TREE) && PATH=$(SANITY_BIN):$$PATH $(SANITY_BIN)/ansible-test sanity --venv --python $(SANITY_PYTHON) --color no

# ---------------------------------------------------------------------------------------------
# pytest
# ---------------------------------------------------------------------------------------------
.PHONY: pytest
pytest: venv  ## unit + integration tests against the Graph simulator, with coverage of plugins/
	$(call banner,"pytest: unit + integration with coverage of plugins/")
	$(BIN)/pytest $(PYTEST_XDIST) -m "not slow" $(PYTEST_COV) $(PYTEST_ARGS)

.PHONY: units
units: venv  ## unit tests only (fast)
	$(call banner,"units: pytest tests/unit")
	$(BIN)/pytest $(PYTEST_XDIST) -m "not slow" tests/unit $(PYTEST_ARGS)

# Against a real tenant, so never a step of `make test` (tests/integration/test_live_check.py runs it
# against the simulator instead). docs/development.md, "The live-tenant check": the ENTRA_LIVE_* variables.
.PHONY: live-check
live-check: venv  ## tests/live against the tenant ENTRA_LIVE_* name (read only unless ENTRA_LIVE_WRITE=1); skips, naming what is missing, without them
	$(call banner,"live-check: pytest tests/live (report in $${ENTRA_LIVE_REPORT:-.build/live-check-report.md})")
	$(BIN)/pytest -p no:cacheprovider tests/live $(PYTEST_ARGS)

# ---------------------------------------------------------------------------------------------
# The ansible-core matrix. `make core CORE=2.21` runs one core; a missing Python is a loud skip
# (or a failure with MISSING_PYTHON=fail), recorded in $(MATRIX_RECORD) for the summary.
# ---------------------------------------------------------------------------------------------
.PHONY: matrix
matrix:  ## the tests on the other ansible-cores we claim (2.16, 2.20, 2.21), each in its own venv
	@for entry in $(MATRIX); do $(MAKE) core CORE=$${entry%%:*} || exit 1; done

.PHONY: matrix-full
matrix-full:  ## every unit and integration test (the heavy ones too) on each core of the matrix
	@$(MAKE) matrix MATRIX_SUITE=full

.PHONY: core
core:  ## the tests on one core of the matrix: make core CORE=2.21
	@test -n "$(call core_field,$(CORE),1)" || { echo "core: CORE='$(CORE)' is not in the matrix ($(MATRIX))"; exit 2; }
	@mkdir -p $(MATRIX_RECORD)
	@if ! .ci/find-python $(call core_field,$(CORE),2) > /dev/null; then \
		line="$(MISSING_VERDICT) ansible-core $(CORE): no Python $(call core_field,$(CORE),2) on this machine (install it, e.g. pyenv install $(call core_field,$(CORE),2))"; \
		printf '\n==> matrix: %s\n' "$$line"; echo "$$line" > $(MATRIX_RECORD)/$(CORE); \
		test "$(MISSING_PYTHON)" = skip; \
	else \
		$(MAKE) .venv-$(CORE)/.entra-membership-requirements && \
		$(MAKE) core-pytest CORE=$(CORE) && \
		echo "tested ansible-core $(CORE) ($(call core_suite,$(CORE))) on Python $(call core_field,$(CORE),2)" > $(MATRIX_RECORD)/$(CORE); \
	fi

.PHONY: core-pytest
core-pytest:
	$(call banner,"core $(CORE): pytest ($(call core_suite,$(CORE))) in .venv-$(CORE)")
	.venv-$(CORE)/bin/python -c 'import ansible, sys; print("ansible-core", ansible.__version__, "on Python", sys.version.split()[0])'
	@# Only this core's tools on PATH: ansible-runner starts ansible-playbook by name.
	PATH=$(CURDIR)/.venv-$(CORE)/bin:$$PATH .venv-$(CORE)/bin/pytest $(PYTEST_XDIST) -p no:cacheprovider \
		-m "not slow$(if $(filter light subset,$(call core_suite,$(CORE))), and not heavy)" \
		$(if $(filter subset,$(call core_suite,$(CORE))),$(MATRIX_SUBSET),$(MATRIX_FULL)) $(PYTEST_ARGS)

.PHONY: compat
compat:  ## the tests on the oldest core we claim (make core CORE=2.16)
	@$(MAKE) core CORE=$(firstword $(subst :, ,$(firstword $(MATRIX))))

.PHONY: matrix-summary
matrix-summary:
	@echo "==> ansible-core matrix: tested ansible-core $$($(BIN)/python -c 'import ansible; print(ansible.__version__)') (full, with coverage) on Python $$($(BIN)/python -c 'import sys; print(sys.version.split()[0])')"
	@for entry in $(MATRIX); do core=$${entry%%:*}; \
		if [ -f $(MATRIX_RECORD)/$$core ]; then echo "==> ansible-core matrix: $$(cat $(MATRIX_RECORD)/$$core)"; \
		else echo "==> ansible-core matrix: ansible-core $$core NOT RUN"; fi; \
	done
	@if [ -f $(MATRIX_RECORD)/sanity ]; then echo "==> ansible-core matrix: $$(cat $(MATRIX_RECORD)/sanity)"; fi

# A core's venv; the interpreter is found again here so that `make .venv-2.21/...` works alone.
.venv-%/.entra-membership-requirements: $(TEST_REQUIREMENTS) constraints-core-%.txt
	$(call banner,"venv: .venv-$* for ansible-core $*")
	python=$$(.ci/find-python $(call core_field,$*,2)) && { test -x .venv-$*/bin/python || "$$python" -m venv .venv-$*; }
	.venv-$*/bin/python -m pip install --disable-pip-version-check --quiet -r requirements-test.txt ansible-core -c constraints-core-$*.txt
	touch $@

# ---------------------------------------------------------------------------------------------
# The simulator from a plain venv: what docs/simulator.md tells a user without make to run.
# ---------------------------------------------------------------------------------------------
GRAPHSIM_VENV := .venv-graphsim
GRAPHSIM_ENV := $(BUILD)/graphsim-venv.env

.PHONY: simulator
simulator: $(GRAPHSIM_VENV)/.entra-membership-requirements  ## start the simulator from a venv with tests/graphsim/requirements.txt alone, then stop it
	$(call banner,"simulator: PYTHONPATH=tests $(GRAPHSIM_VENV)/bin/python -m graphsim --port 0")
	mkdir -p $(BUILD) && rm -f $(GRAPHSIM_ENV)
	@# The env file appears once the server listens (docs/simulator.md).
	PYTHONPATH=tests $(GRAPHSIM_VENV)/bin/python -m graphsim --port 0 --env-file $(GRAPHSIM_ENV) > $(BUILD)/graphsim-venv.log 2>&1 & \
	server=$$!; \
	for attempt in $$(seq 120); do [ -s $(GRAPHSIM_ENV) ] || ! kill -0 $$server 2>/dev/null && break; sleep 0.5; done; \
	kill $$server 2>/dev/null; wait $$server || true; \
	grep -q '^ENTRA_GRAPH_ENDPOINT=https://127.0.0.1:' $(GRAPHSIM_ENV) \
		|| { echo "simulator: it did not start from $(GRAPHSIM_VENV):"; cat $(BUILD)/graphsim-venv.log; exit 1; }
	@echo "simulator: started and stopped from $(GRAPHSIM_VENV) ($$(grep '^ENTRA_GRAPH_ENDPOINT=' $(GRAPHSIM_ENV)))"

$(GRAPHSIM_VENV)/.entra-membership-requirements: tests/graphsim/requirements.txt
	$(call banner,"venv: $(GRAPHSIM_VENV) from tests/graphsim/requirements.txt alone")
	test -x $(GRAPHSIM_VENV)/bin/python || $(PYTHON) -m venv $(GRAPHSIM_VENV)
	$(GRAPHSIM_VENV)/bin/python -m pip install --disable-pip-version-check --quiet -r tests/graphsim/requirements.txt
	touch $@

# ---------------------------------------------------------------------------------------------
# Linters
# ---------------------------------------------------------------------------------------------
# The repository as ansible_collections/entra/membership, where the tests (tests/conftest.py) find it too.
.PHONY: collections-link
collections-link:
	mkdir -p $(BUILD)/collections/ansible_collections/entra
	ln -sfn $(CURDIR) $(BUILD)/collections/ansible_collections/entra/membership

.PHONY: lint
lint: venv collections-link  ## ansible-lint, profile production (roles, playbooks, galaxy.yml, meta, EE)
	$(call banner,"lint: ansible-lint --profile production")
	@# The playbooks call this collection's modules: ansible-lint finds them where the tests do.
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/collections $(BIN)/ansible-lint --profile production --nocolor

.PHONY: imports
imports: venv collections-link  ## import-linter: plugins/module_utils is a stack whose imports only point down (.importlinter)
	$(call banner,"imports: lint-imports (.importlinter)")
	PYTHONPATH=$(BUILD)/collections $(BIN)/lint-imports --no-cache --no-logo

.PHONY: reuse
reuse: venv  ## reuse lint: every file's copyright and license are known (REUSE.toml)
	$(call banner,"reuse: reuse lint")
	$(BIN)/reuse lint --lines

.PHONY: changelog-lint
changelog-lint: venv
	$(call banner,"changelog-lint: antsibull-changelog lint")
	$(BIN)/antsibull-changelog lint

.PHONY: docs-lint
docs-lint: venv tree
	$(call banner,"docs-lint: antsibull-docs lint-collection-docs --plugin-docs")
	cd $(TREE) && $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

# ---------------------------------------------------------------------------------------------
# Release checks: the tarball a user installs, used the way a user uses it.
# ---------------------------------------------------------------------------------------------
.PHONY: build
build: venv tree  ## ansible-galaxy collection build -> .build/dist/
	$(call banner,"build: ansible-galaxy collection build")
	rm -rf $(DIST)
	cd $(TREE) && $(BIN)/ansible-galaxy collection build --output-path $(DIST)

.PHONY: galaxy
galaxy: build  ## build, install the tarball, ansible-doc every module and syntax-check the playbooks from the installed copy
	$(call banner,"galaxy: install $(notdir $(TARBALL)) and use the installed copy")
	rm -rf $(INSTALLED)
	$(BIN)/ansible-galaxy collection install --offline $(TARBALL) -p $(INSTALLED)
	@# Only the installed copy is visible from here on: no source tree, no ~/.ansible.
	cd $(INSTALLED) && export ANSIBLE_COLLECTIONS_PATH=$(INSTALLED) ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false && \
	for module in $(MODULES); do \
		echo "ansible-doc entra.membership.$$module"; \
		$(BIN)/ansible-doc --json entra.membership.$$module \
			| $(BIN)/python -c 'import json, sys; name = sys.argv[1]; doc = json.load(sys.stdin)[name]["doc"]; assert doc["module"] == name.rsplit(".", 1)[1] and doc["short_description"], name' entra.membership.$$module; \
	done; \
	for playbook in offboard restore; do \
		echo "ansible-playbook entra.membership.$$playbook --syntax-check"; \
		$(BIN)/ansible-playbook entra.membership.$$playbook --syntax-check; \
	done

.PHONY: importer
importer: build $(IMPORTER_VENV)/.entra-membership-requirements  ## galaxy-importer on the tarball, with Automation Hub's checks (offline)
	$(call banner,"importer: galaxy-importer $(notdir $(TARBALL)) (.ci/galaxy-importer.cfg)")
	rm -rf $(IMPORTER_WORK) && mkdir -p $(IMPORTER_WORK)
	@# It runs flake8, ansible-lint and ansible-doc by name: its venv's, first on PATH. It writes
	@# importer_result.json to the working directory.
	cd $(IMPORTER_WORK) && PATH=$(CURDIR)/$(IMPORTER_VENV)/bin:$$PATH GALAXY_IMPORTER_CONFIG=$(IMPORTER_CONFIG) \
		$(CURDIR)/$(IMPORTER_VENV)/bin/python -m galaxy_importer.main $(TARBALL) 2>&1 | tee $(IMPORTER_WORK)/importer.log
	@# It exits 0 whatever its checks found (they are warnings, as on Galaxy): each is a failure here.
	grep -q '^Importer processing completed successfully' $(IMPORTER_WORK)/importer.log \
		|| { echo "importer: galaxy-importer did not complete the import"; exit 1; }
	@findings=$$(grep -E '^(WARNING|ERROR|CRITICAL):' $(IMPORTER_WORK)/importer.log | grep -Ev '$(IMPORTER_ACCEPTED)' || true); \
	accepted=$$(grep -Ec '$(IMPORTER_ACCEPTED)' $(IMPORTER_WORK)/importer.log || true); \
	if [ -n "$$findings" ]; then printf 'importer: galaxy-importer reports:\n%s\n' "$$findings"; exit 1; fi; \
	echo "importer: accepted, no finding (besides $$accepted flake8 E999 on the filters' YAML documentation, see the Makefile)"

$(IMPORTER_VENV)/.entra-membership-requirements: requirements-importer.txt constraints-importer.txt
	$(call banner,"venv: $(IMPORTER_VENV) for galaxy-importer")
	test -x $(IMPORTER_VENV)/bin/python || $(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/python -m pip install --disable-pip-version-check --quiet -r requirements-importer.txt -c constraints-importer.txt
	touch $@

# ---------------------------------------------------------------------------------------------
# Execution environment (ansible-builder v3): the build context, offline; building the image
# needs podman/docker and a registry (see docs/awx.md).
# ---------------------------------------------------------------------------------------------
.PHONY: ee
ee: galaxy  ## ansible-builder create for docs/awx/execution-environment.yml, then check the context
	$(call banner,"ee: ansible-builder create (build context in $(EE_CONTEXT))")
	@# Lay the definition out as docs/awx.md tells an administrator to: definition,
	@# requirements.yml and the tarball in one directory.
	rm -rf $(EE_STAGE) $(EE_CONTEXT)
	mkdir -p $(EE_STAGE)
	cp docs/awx/execution-environment.yml docs/awx/requirements.yml $(TARBALL) $(EE_STAGE)/
	$(BIN)/ansible-builder create --file $(EE_STAGE)/execution-environment.yml --context $(EE_CONTEXT) --output-filename Containerfile
	@# The context must hold the tarball that requirements.yml names, and the Containerfile must install it.
	grep -q "name: /build/collections/$(notdir $(TARBALL))" docs/awx/requirements.yml \
		|| { echo "ee: docs/awx/requirements.yml does not name $(notdir $(TARBALL)) (version in galaxy.yml changed?)"; exit 1; }
	test -f $(EE_CONTEXT)/_build/collections/$(notdir $(TARBALL))
	test -f $(EE_CONTEXT)/_build/requirements.yml
	grep -q 'ansible-galaxy collection install' $(EE_CONTEXT)/Containerfile
	@# The image's Python and core: the ones docs/awx/execution-environment.yml names, supported and tested.
	grep -q 'ansible-core>=2.20.0,<2.22' $(EE_CONTEXT)/Containerfile
	grep -q 'python3.12' $(EE_CONTEXT)/Containerfile
	@# What the image build will pip-install for the collection, read from the installed copy's
	@# meta/execution-environment.yml exactly as ansible-builder's introspection in the image does.
	$(BIN)/ansible-builder introspect $(INSTALLED) --write-pip $(EE_STAGE)/collection-python-deps.txt
	grep -q '^msal' $(EE_STAGE)/collection-python-deps.txt
	grep -q '^requests' $(EE_STAGE)/collection-python-deps.txt

# ---------------------------------------------------------------------------------------------
# Docs site, demo, benchmarks, soak
# ---------------------------------------------------------------------------------------------
.PHONY: docs
docs: galaxy  ## antsibull-docs site of the installed collection in .build/docs/build/html
	$(call banner,"docs: antsibull-docs + Sphinx site in $(DOCS_SITE)")
	rm -rf $(DOCS_SITE)
	@# antsibull-docs insists on a destination only its owner can write to.
	mkdir -p $(BUILD) && mkdir -m 700 $(DOCS_SITE) $(DOCS_SITE)/rst
	export ANSIBLE_COLLECTIONS_PATH=$(INSTALLED) && cd $(DOCS_SITE) && \
	$(BIN)/antsibull-docs sphinx-init --use-current --dest-dir . --sphinx-theme alabaster \
		--project entra.membership --title "entra.membership collection" --fail-on-error entra.membership && \
	$(BIN)/antsibull-docs --config-file antsibull-docs.cfg collection --use-current --cleanup everything \
		--dest-dir rst --fail-on-error entra.membership && \
	echo 'intersphinx_mapping = {}  # the inventories live on the internet' >> conf.py && \
	printf '%s\n' ':orphan:' '' \
		'.. _common_return_values:' '' 'Common return values' '====================' '' \
		'`Return Values <https://docs.ansible.com/projects/ansible/latest/reference_appendices/common_return_values.html>`_ in the Ansible documentation.' '' \
		'.. _ansible_configuration_settings:' '' 'Ansible configuration settings' '==============================' '' \
		'`Ansible Configuration Settings <https://docs.ansible.com/projects/ansible/latest/reference_appendices/config.html>`_ in the Ansible documentation.' '' \
		'.. _action_plugins:' '' 'Action plugins' '==============' '' \
		'`Action plugins <https://docs.ansible.com/projects/ansible/latest/plugins/action.html>`_ in the Ansible documentation.' \
		> rst/ansible_references.rst && \
	$(BIN)/sphinx-build -M html rst build -c . -W --keep-going --quiet
	@echo "docs: open $(DOCS_SITE)/build/html/index.html"

.PHONY: demo
demo: venv  ## offboard a user of the simulated demo tenant (hacking/demo.py)
	$(BIN)/python hacking/demo.py

.PHONY: bench
bench: venv  ## benchmarks against the simulator (10-15 min on two cores); writes docs/performance.md and its charts
	PYTHONPATH=tests $(BIN)/python $(BENCH_SCRIPT)

.PHONY: soak
soak: venv  ## the long-running tests (pytest -m slow)
	$(call banner,"soak: pytest -m slow")
	$(BIN)/pytest -m slow $(PYTEST_ARGS)

.PHONY: clean
clean:  ## remove build output (keeps the venvs)
	rm -rf $(BUILD) tests/output .pytest_cache .hypothesis .coverage .coverage.* coverage.xml
