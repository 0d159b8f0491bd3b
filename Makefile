# Everything a fresh machine needs is installed here: the Python environment (pinned by
# requirements.lock) and the Go-built binaries (cached outside the repo, see
# sandbox/src/k8s_aws_sandbox/binaries.py). A second run only checks that both are there.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SANDBOX_DIR ?= .sandbox
NODES ?= 3
PYTEST_ARGS ?=

VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' src/k8s_aws/__init__.py)

.PHONY: sandbox sandbox-down deps binaries csi-stubs attach-limits botocore-models host-tools lint test test-iam unit golden bench-reference dist image image-tools

# The product (.) and the sandbox (sandbox/, its own distribution), both editable.
$(BIN)/.deps-stamp: pyproject.toml sandbox/pyproject.toml sandbox/setup.py requirements.lock src/k8s_aws/__init__.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]' -e ./sandbox
	touch $@

deps: $(BIN)/.deps-stamp csi-stubs attach-limits botocore-models host-tools

# The node service's attachment limits per instance type, from the DescribeInstanceTypes data
# of the pinned moto release (gitignored; see sandbox/src/k8s_aws_sandbox/attachlimits.py).
attach-limits: $(BIN)/.deps-stamp
	$(BIN)/python -m k8s_aws_sandbox.attachlimits src

# botocore models holding only the operations k8s-aws calls (gitignored; a controller's RSS is
# about 16 MB smaller; see src/k8s_aws/cloud/botocore_models.py).
botocore-models: $(BIN)/.deps-stamp
	$(BIN)/python -m k8s_aws_sandbox.botomodels src

# The node service's filesystem tools: xfsprogs (mkfs.xfs, xfs_growfs) from Debian; e2fsprogs
# and util-linux (mount, losetup, blkid) are part of every Debian system.
host-tools:
	@command -v mkfs.xfs >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xfsprogs)

# The image's build tools, from Debian: mmdebstrap makes the root file system from Debian's
# packages, umoci and skopeo assemble and write the OCI archive, podman and runc run it
# (tests/integration/test_image.py).
image-tools:
	@missing=; for tool in mmdebstrap umoci skopeo podman runc; do \
		command -v $$tool >/dev/null || missing=1; done; \
	[ -z "$$missing" ] || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq mmdebstrap umoci skopeo podman runc)

# The CSI gRPC stubs, generated from csi.proto of the pinned Go module (gitignored).
csi-stubs: $(BIN)/.deps-stamp
	$(BIN)/python -m k8s_aws_sandbox.csiproto src

# Both wheels in dist/: the product's carries the generated CSI stubs and attachment limits, so
# it installs and runs without Go; the sandbox's pins the product at the same version.
# dist/wheels/ holds the product's wheel and its pinned runtime dependencies: the image and
# the packaging tests install from it with no index.
dist: deps
	rm -rf dist/k8s_aws-*.whl dist/k8s_aws_sandbox-*.whl dist/wheels build sandbox/build
	$(BIN)/pip wheel --quiet --disable-pip-version-check --no-deps -w dist . ./sandbox
	$(BIN)/pip download --quiet --disable-pip-version-check -c requirements.lock -d dist/wheels \
		dist/k8s_aws-$(VERSION)-py3-none-any.whl

binaries: deps
	$(BIN)/python -m k8s_aws_sandbox.binaries
	$(BIN)/python -m k8s_aws_sandbox.binaries csi-sanity

# The OCI image archive dist/k8s-aws-<version>.oci.tar, built from Debian's packages and the
# product wheel without Docker (docs/image.md). Cached by inputs: a rerun with nothing changed
# only rebuilds the wheel.
image: dist image-tools
	PYTHON=$(BIN)/python packaging/image/build.sh dist/k8s_aws-$(VERSION)-py3-none-any.whl

sandbox: binaries
	$(BIN)/k8s-aws sandbox up --dir $(SANDBOX_DIR) --nodes $(NODES)

sandbox-down: deps
	$(BIN)/k8s-aws sandbox down --dir $(SANDBOX_DIR)

lint: deps
	$(BIN)/ruff check src sandbox/src tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: deps
	$(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

# The golden load balancer plans (tests/unit/golden/) are written only here, on purpose.
golden: deps
	$(BIN)/python -m tests.unit.regenerate_golden

# The whole suite, then the integration suite again with the emulator enforcing IAM and the
# controllers holding only the generated least-privilege policy.
test: lint binaries image
	$(BIN)/pytest $(PYTEST_ARGS)
	$(MAKE) test-iam

# Property runs against the emulator (marker `property`), crash matrices (marker `crash`) and
# tests whose AWS calls other tests make too, or that make none (marker `once`), prove nothing
# more under IAM enforcement and are left out of the rerun.
test-iam: binaries
	K8S_AWS_IAM_ENFORCEMENT=1 $(BIN)/pytest tests/integration -m "not property and not once and not crash" $(PYTEST_ARGS)

# Side by side with kubernetes/cloud-provider-aws (docs/benchmarks.md); not part of `make test`.
# Builds the reference once into the cache (minutes, cold), then runs every benchmark run.
bench-reference: binaries
	nice -n 10 $(BIN)/python -m k8s_aws_sandbox.binaries cloud-provider-aws
	$(BIN)/python bench/reference_all.py $(BENCH_ARGS)
