# tetragon-fanout: build, lint and test against a real Kafka (no Docker).
# Needs Go (see go.work), Java 17+ and Maven (Kafka jars, fetched once), kcat optional.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

MODULES := shared ingester fanout
# binary name => main package; missing ones are skipped while they are being written.
CMDS := ingester:./ingester/cmd/ingester fanout:./fanout/cmd/fanout tetragon-sim:./shared/cmd/tetragon-sim

STATICCHECK_VERSION := v0.8.2
STATICCHECK := go run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

TEST_KAFKA_PORT ?= 19092
TEST_KAFKA_DATA_DIR ?= $(CURDIR)/.local/kafka/test
# -race doubles test time on a 2-core machine; add it with GO_TEST_FLAGS="-count=1 -race".
GO_TEST_FLAGS ?= -count=1

KAFKA_SH := deployments/local/kafka.sh

.PHONY: build lint test test-unit go-test generate demo kafka-start kafka-stop clean

build:
	@mkdir -p bin
	@for spec in $(CMDS); do \
		name=$${spec%%:*}; pkg=$${spec#*:}; \
		if [[ -d $$pkg ]]; then \
			echo "go build -o bin/$$name $$pkg"; \
			go build -o bin/$$name $$pkg; \
		else \
			echo "skip bin/$$name: $$pkg does not exist yet"; \
		fi; \
	done

# Runs every check, then fails if any failed, so one run shows all problems.
lint:
	@fail=""; \
	out=$$(gofmt -l $(MODULES)); \
	if [[ -n $$out ]]; then echo "gofmt -l: not formatted:"; echo "$$out"; fail="$$fail gofmt"; fi; \
	for m in $(MODULES); do \
		echo "go mod tidy -diff ($$m)"; (cd $$m && go mod tidy -diff) || fail="$$fail tidy:$$m"; \
		echo "go vet ./$$m/..."; (cd $$m && go vet ./...) || fail="$$fail vet:$$m"; \
		echo "staticcheck ./$$m/..."; (cd $$m && $(STATICCHECK) ./...) || fail="$$fail staticcheck:$$m"; \
	done; \
	if [[ -n $$fail ]]; then echo "lint FAILED:$$fail"; exit 1; fi; \
	echo "lint ok"

# Real-Kafka tests: a fresh broker for the whole run, stopped whatever happens.
test:
	KAFKA_PORT=$(TEST_KAFKA_PORT) KAFKA_DATA_DIR=$(TEST_KAFKA_DATA_DIR) \
		deployments/local/with-kafka.sh $(MAKE) --no-print-directory go-test

# Unit tests only: no broker, real-Kafka tests skip under -short.
test-unit:
	@$(MAKE) --no-print-directory go-test GO_TEST_FLAGS="$(GO_TEST_FLAGS) -short"

# go test in every module; runs them all, fails if any failed.
go-test:
	@fail=""; \
	for m in $(MODULES); do \
		echo "=== go test $(GO_TEST_FLAGS) ./$$m/..."; \
		(cd $$m && go test $(GO_TEST_FLAGS) ./...) || fail="$$fail $$m"; \
	done; \
	if [[ -n $$fail ]]; then echo "FAILED modules:$$fail"; exit 1; fi; \
	echo "all modules passed"

# Everything generated, in one command (no broker needed): the fanout's protobuf
# decoder (fanout/normalize/decode_gen.go, from the pinned Tetragon API), the
# normalize goldens and docs/schema.md, the event-id fixture goldens, and
# docs/metrics.md and docs/configuration.md (from the metric definitions and
# the binaries' --help). Review the diff: a golden that moved is a behaviour change.
generate:
	cd fanout && go generate ./normalize/
	cd fanout && go test -count=1 -run '^(TestGolden|TestSchemaDoc)$$' ./normalize/ -update
	cd shared && go test -count=1 -run '^TestFixturesAgreeAndAreStable$$' ./eventid/ -update
	cd shared && go test -count=1 -run '^TestDocTable$$' ./eventid/ -update
	cd shared && go test -count=1 -run '^TestTopicsPerType$$' ./deploycheck/ -update
	cd shared && go test -count=1 -run '^(TestMetricsDoc|TestConfigurationDoc)$$' ./deploycheck/ -update

demo:
	deployments/local/demo.sh

# Fault suite (fanout/e2e/faults_test.go): kill -9 and scaling of fanout replicas, broker
# restart and loss (private 1- and 3-node clusters), duplicates, ingester SIGTERM and
# rolling restart, poison messages, a topic Kafka refuses; each under load through the
# built binaries, zero loss required. A control run (a faultinject build of the fanout
# without in-order commits, built by the test) must lose events under kill -9, or the
# suite fails: it shows the suite can see that loss. Prints and writes the report
# .local/faults-report.txt (logs in .local/faults/<case>/).
# test-faults-light is the CI size (FAULTS_LIGHT=1: lower rate, shorter phases, 3 kills
# instead of 5, 2 control kills instead of 3, no three-node cluster).
FAULTS_KAFKA_PORT ?= 19192
FAULTS_KAFKA_DATA_DIR ?= $(CURDIR)/.local/kafka/faults
FAULTS_GO_TEST = cd fanout && go test -tags faults -count=1 -run TestFaults ./e2e/

.PHONY: test-faults test-faults-light
test-faults: build
	@rm -f .local/faults-report.txt; rc=0; FAULTS_COMMAND="make test-faults" E2E_BIN_DIR=$(CURDIR)/bin \
		KAFKA_PORT=$(FAULTS_KAFKA_PORT) KAFKA_DATA_DIR=$(FAULTS_KAFKA_DATA_DIR) \
		deployments/local/with-kafka.sh bash -c '$(FAULTS_GO_TEST) -timeout 60m' || rc=$$?; \
		cat .local/faults-report.txt 2>/dev/null || true; exit $$rc

test-faults-light: build
	@rm -f .local/faults-report.txt; rc=0; FAULTS_LIGHT=1 FAULTS_COMMAND="make test-faults-light" E2E_BIN_DIR=$(CURDIR)/bin \
		KAFKA_PORT=$(FAULTS_KAFKA_PORT) KAFKA_DATA_DIR=$(FAULTS_KAFKA_DATA_DIR) \
		deployments/local/with-kafka.sh bash -c '$(FAULTS_GO_TEST) -timeout 20m' || rc=$$?; \
		cat .local/faults-report.txt 2>/dev/null || true; exit $$rc

kafka-start:
	$(KAFKA_SH) start

kafka-stop:
	$(KAFKA_SH) stop

# Removes build output and the data of the brokers this Makefile runs (stopped first).
clean:
	-$(KAFKA_SH) stop
	-KAFKA_DATA_DIR=$(TEST_KAFKA_DATA_DIR) $(KAFKA_SH) stop
	rm -rf bin .local/kafka/data $(TEST_KAFKA_DATA_DIR)

# Container images, one per binary (deployments/docker/<name>.Dockerfile),
# tagged $(IMAGE_REPO)/<name>:$(IMAGE_TAG) with the tag stamped as the version.
# With docker buildx: a multi-arch build for $(IMAGE_PLATFORMS); IMAGE_PUSH=1
# pushes it, a single platform is loaded into the local engine, several
# without IMAGE_PUSH stay in the build cache. Without buildx: a plain docker
# BuildKit build for the engine's platform (the Dockerfiles use cache mounts
# and BUILDPLATFORM, so the legacy builder cannot build them). Needs a Docker
# engine (not used by CI).
IMAGE_REPO ?= tetragon-fanout
IMAGE_TAG ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
IMAGE_PUSH ?=

.PHONY: images
images:
	@command -v docker >/dev/null || { echo "images: docker not found (needs a Docker engine)" >&2; exit 2; }
	@for name in ingester fanout tetragon-sim; do \
		ref="$(IMAGE_REPO)/$$name:$(IMAGE_TAG)"; \
		args=(-f "deployments/docker/$$name.Dockerfile" --build-arg "VERSION=$(IMAGE_TAG)" -t "$$ref"); \
		if docker buildx version >/dev/null 2>&1; then \
			out=(); \
			if [[ -n "$(IMAGE_PUSH)" ]]; then out=(--push); \
			elif [[ "$(IMAGE_PLATFORMS)" != *,* ]]; then out=(--load); \
			else echo "images: $$ref for $(IMAGE_PLATFORMS) stays in the build cache (IMAGE_PUSH=1 to push)"; fi; \
			echo "docker buildx build --platform $(IMAGE_PLATFORMS) $${out[*]} $${args[*]} ."; \
			docker buildx build --platform "$(IMAGE_PLATFORMS)" "$${out[@]}" "$${args[@]}" .; \
		else \
			echo "DOCKER_BUILDKIT=1 docker build $${args[*]} . (no buildx: engine platform only)"; \
			DOCKER_BUILDKIT=1 docker build "$${args[@]}" .; \
			if [[ -n "$(IMAGE_PUSH)" ]]; then docker push "$$ref"; fi; \
		fi; \
	done

# Benchmarks (deployments/local/bench.sh): micro-benchmarks, then the real binaries on a
# fresh broker of their own (port 20100, .local/bench/kafka): ingester max rate, fanout
# over a pre-filled raw topic, 1 vs 2 replicas, end-to-end latency at fixed rates, table
# recovery, profiles. Writes .local/bench/results.md. BENCH_QUICK=1: a quick run.
.PHONY: bench
bench:
	deployments/local/bench.sh

# Security tests (SECURITY.md): a fresh broker in secure mode (kafka.sh KAFKA_SECURITY=sasl_ssl:
# SASL_SSL only, SCRAM users, ACLs; port 20300, controller 20301, .local/kafka/test-security),
# the built binaries end to end over it, wrong passwords, ACL denials, redaction, and
# Tetragon TLS against tetragon-sim. Always uncached; one package at a time (they share the
# broker's ACL'd names).
TEST_SECURITY_KAFKA_PORT ?= 20300
TEST_SECURITY_KAFKA_DATA_DIR ?= $(CURDIR)/.local/kafka/test-security
SECURITY_TEST_PKGS := ./shared/securitytest ./ingester/securitytest
# -v: the log shows the evidence (which principal the broker authorized for each client).
SECURITY_TEST_FLAGS ?= -v

.PHONY: test-security
test-security:
	KAFKA_SECURITY=sasl_ssl KAFKA_PORT=$(TEST_SECURITY_KAFKA_PORT) KAFKA_CONTROLLER_PORT=$$(($(TEST_SECURITY_KAFKA_PORT) + 1)) \
		KAFKA_DATA_DIR=$(TEST_SECURITY_KAFKA_DATA_DIR) \
		deployments/local/with-kafka.sh go test -tags security -count=1 -p 1 -timeout 10m $(SECURITY_TEST_FLAGS) $(SECURITY_TEST_PKGS)
