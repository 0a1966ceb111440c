# Every target is a thin wrapper over a script in hack/ so the same steps run in CI and by hand.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
PYTEST_ARGS ?=

.PHONY: help setup tools up down infra-up infra-down infra-status cluster-up cluster-down \
        cluster-status test test-unit lint format bench bench-quick images conformance kind-up kind-down node-up node-down

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: ## install the Python workspace (uv, Python 3.11, every package and dev tool)
	hack/setup.sh

tools: ## build the pinned Go tools (control plane, kwok, helm, kind, MinIO, the real node's); cached outside the repo
	hack/tools/build.sh
	hack/tools/build.sh --node

up: setup ## the platform as pods on a real node: control plane, images, node, operator (chart), sample, gateway (hack/up.sh)
	hack/up.sh

node-up: ## a real node beside the kwok ones: kubelet, containerd, CoreDNS, local-path volumes (needs cluster-up, images)
	hack/node.sh up

node-down:
	hack/node.sh down

down: ## stop everything `make up` started (and the infrastructure)
	-hack/up.sh down
	-hack/node.sh down
	-hack/cluster.sh down
	-hack/infra.sh down

infra-up: ## start PostgreSQL, Redis, RabbitMQ, MinIO and the SMTP sink on loopback
	hack/infra.sh up

infra-down: ## stop the infrastructure (data kept under the cache folder)
	hack/infra.sh down

infra-status: ## say what runs where
	hack/infra.sh status

cluster-up: ## start etcd, kube-apiserver, controller-manager, scheduler and kwok nodes
	hack/cluster.sh up

cluster-down: ## stop the local control plane
	hack/cluster.sh down

cluster-status:
	hack/cluster.sh status

test: setup images ## run every suite (needs `make infra-up cluster-up`; tests say so when a part is down)
	hack/test.sh $(PYTEST_ARGS)

test-unit: setup ## only the suites that need no servers
	$(UV) run pytest -m "not infra and not cluster and not node" $(PYTEST_ARGS)

lint: setup ## ruff (lint + format check) and mypy
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy operator/src services/*/src

format:
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

images: ## build every image (operator, 8 services, web, legacy, managed infra); buildah without Docker
	hack/images.sh build

conformance: ## the upstream Gateway API conformance suite against the local Envoy Gateway (needs `make up`)
	hack/gateway.sh conformance

kind-up: ## on a Docker host: kind cluster + Gateway API + gateway + images + chart
	hack/kind.sh up

kind-down:
	hack/kind.sh down

bench: setup ## benchmarks against same-run baselines (~40 min; needs infra-up cluster-up)
	hack/bench.sh

bench-quick: setup ## the same benchmarks, fewer and shorter runs (a few minutes)
	hack/bench.sh --quick
