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
# Measured: see docs/development.md. Override with `make pytest PYTEST_WORKERS=0` to debug.
PYTEST_WORKERS ?= 0
PYTEST_XDIST = $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS),)
# Coverage of the collection's code as it is imported (through tests/conftest.py's
# ansible_collections path), whichever tests load it.
PYTEST_COV := --cov=ansible_collections.entra.membership.plugins --cov-report=term:skip-covered

# The oldest ansible-core that meta/runtime.yml admits; `make compat` runs the unit tests on it.
COMPAT_CORE := ansible-core==2.16.19
COMPAT_VENV := .venv-2.16
# The test libraries come from requirements-dev.txt; the tools that need the newest core stay out.
COMPAT_EXCLUDE := ^(ansible-core|ansible-lint|ansible-runner|ansible-builder|antsibull-[a-z-]+|matplotlib)==

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
TEST_STEPS := venv sanity imports pytest compat lint changelog-lint docs-lint galaxy ee docs

.PHONY: test
test:  ## everything CI runs: sanity, imports, pytest, compat (core 2.16), lint, changelog/docs lint, build+install, EE, docs site
	@total_start=$$(date +%s); \
	$(MAKE) tree; \
	for step in $(TEST_STEPS); do \
		step_start=$$(date +%s); \
		$(MAKE) $$step REUSE_TREE=1 || { echo "==> make test: FAILED in step '$$step'"; exit 1; }; \
		echo "==> $$step: $$(( $$(date +%s) - step_start ))s"; \
	done; \
	echo "==> make test: all steps passed in $$(( $$(date +%s) - total_start ))s"

# ---------------------------------------------------------------------------------------------
# venv: created when missing, re-installed when a requirements file changes (stamp file).
# ---------------------------------------------------------------------------------------------
.PHONY: venv
venv: $(VENV_STAMP)  ## create/update .venv from requirements-dev.txt + constraints-dev.txt

$(VENV_STAMP): requirements.txt requirements-dev.txt constraints-dev.txt
	$(call banner,"venv: $(VENV) with the pinned requirements")
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-dev.txt -c constraints-dev.txt
	touch $@

.PHONY: lock
lock: venv  ## re-pin constraints-dev.txt from the venv (after changing requirements-dev.txt)
	{ sed -n '1,/^# Regenerate/p' constraints-dev.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints-dev.txt.new
	mv constraints-dev.txt.new constraints-dev.txt
	touch $(VENV_STAMP)

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
sanity: venv tree  ## ansible-test sanity --venv on the copy (every test that runs offline)
	$(call banner,"sanity: ansible-test sanity --venv --python $(SANITY_PYTHON)")
	$(BIN)/python hacking/ansible-test-offline/install.py $(SANITY_PYTHON)
	cd $(TREE) && $(BIN)/ansible-test sanity --venv --python $(SANITY_PYTHON) --color no

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

.PHONY: compat
compat:  ## unit tests against the oldest supported ansible-core (.venv-2.16)
	$(call banner,"compat: unit tests on $(COMPAT_CORE)")
	$(MAKE) $(COMPAT_VENV)/.entra-membership-requirements
	$(COMPAT_VENV)/bin/python -c 'import ansible; print("ansible-core", ansible.__version__)'
	$(COMPAT_VENV)/bin/pytest $(PYTEST_XDIST) -m "not slow" -p no:cacheprovider tests/unit $(PYTEST_ARGS)

$(COMPAT_VENV)/.entra-membership-requirements: requirements.txt requirements-dev.txt Makefile
	$(call banner,"compat venv: $(COMPAT_VENV)")
	test -x $(COMPAT_VENV)/bin/python || $(PYTHON) -m venv $(COMPAT_VENV)
	grep -Ev '$(COMPAT_EXCLUDE)' requirements-dev.txt | sed -E 's#^-r +#-r $(CURDIR)/#' > $(COMPAT_VENV)/requirements.txt
	echo '$(COMPAT_CORE)' >> $(COMPAT_VENV)/requirements.txt
	$(COMPAT_VENV)/bin/python -m pip install --disable-pip-version-check --quiet -r $(COMPAT_VENV)/requirements.txt
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
	grep -q 'ansible-core>=2.16.0' $(EE_CONTEXT)/Containerfile
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
bench: venv  ## benchmarks against the simulator; writes docs/performance.md
	PYTHONPATH=tests $(BIN)/python $(BENCH_SCRIPT)

.PHONY: soak
soak: venv  ## the long-running tests (pytest -m slow)
	$(call banner,"soak: pytest -m slow")
	$(BIN)/pytest -m slow $(PYTEST_ARGS)

.PHONY: clean
clean:  ## remove build output (keeps the venvs)
	rm -rf $(BUILD) tests/output .pytest_cache .hypothesis .coverage .coverage.* coverage.xml
