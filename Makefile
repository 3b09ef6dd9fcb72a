# xenactor: build, run and test targets. `make help` lists them.

GO           ?= go
BIN          ?= $(CURDIR)/bin
RUNDIR       ?= $(CURDIR)/run
# The daemon `make run` starts: xenactord on the simulated host.
DAEMON       ?= xenactord
DAEMON_ARGS  ?= -state-dir $(RUNDIR)/state -run-dir $(RUNDIR)
FUZZTIME     ?= 30s
TEST_TIMEOUT ?= 5m
PROTOS       := $(wildcard messages/*.proto)

.PHONY: all build build-xen run test check-xen bench chaos proto lint fuzz clean help

all: build

## build: compile every package and put the binaries of cmd/ into bin/
build:
	$(GO) build ./...
	@if [ -n "$$($(GO) list ./cmd/... 2>/dev/null)" ]; then \
		mkdir -p $(BIN) && $(GO) build -o $(BIN)/ ./cmd/...; \
	else \
		echo "build: no commands under cmd/ yet"; \
	fi

## build-xen: build bin/xenactord-xen, xenactord with the Xen backend (cgo, -tags xen; needs libxen-dev)
build-xen:
	mkdir -p $(BIN)
	CGO_ENABLED=1 $(GO) build -tags xen -o $(BIN)/xenactord-xen ./cmd/xenactord

## run: build and start the daemon (DAEMON) with its socket in RUNDIR
run: build
	@test -x $(BIN)/$(DAEMON) || { echo "run: $(BIN)/$(DAEMON) was not built (no cmd/$(DAEMON) yet?)" >&2; exit 1; }
	mkdir -p $(RUNDIR)
	$(BIN)/$(DAEMON) $(DAEMON_ARGS)

## test: install missing Debian test packages (as root), then run all tests with the race detector
test:
	./scripts/install-test-deps.sh
	$(GO) test -race -count=1 -timeout=$(TEST_TIMEOUT) ./...

## check-xen: vet and test the cgo Xen backend (needs libxen-dev; its conformance test runs only in dom0)
check-xen:
	./scripts/install-test-deps.sh
	CGO_ENABLED=1 $(GO) vet -tags xen ./hostio/hypervisor/xen/ ./cmd/xenactord/...
	CGO_ENABLED=1 $(GO) test -tags xen -count=1 ./hostio/hypervisor/xen/

## bench: our xenstored against the C xenstored, then guests booting on the simulated host (1k and 10k)
bench:
	$(GO) run ./cmd/xenactor-bench xenstore
	$(GO) run ./cmd/xenactor-bench sim -guests 1000,10000

## chaos: a long chaos run (10 minutes, every fault; SEED=n picks another seed)
SEED ?= 1
chaos:
	$(GO) build -o bin/xenactor-bench ./cmd/xenactor-bench
	bin/xenactor-bench chaos -seed $(SEED) -duration 10m -faults all

## proto: regenerate the Go code of messages/*.proto
proto:
ifeq ($(PROTOS),)
	@echo "no .proto files yet"
else
	@command -v protoc >/dev/null || { echo "proto: protoc missing (apt-get install protobuf-compiler)" >&2; exit 1; }
	@command -v protoc-gen-go >/dev/null || { echo "proto: protoc-gen-go missing (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.33.0)" >&2; exit 1; }
	protoc --proto_path=messages --go_out=messages --go_opt=paths=source_relative $(PROTOS)
endif

## lint: fail on unformatted files, then go vet
lint:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:" >&2; echo "$$unformatted" >&2; exit 1; fi
	$(GO) vet ./...

## fuzz: fuzz the wire decoder, the xenstored server, the suspend-image reader and the API's gate for FUZZTIME each
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecoder -fuzztime=$(FUZZTIME) ./hostio/xenstore/
	$(GO) test -run='^$$' -fuzz=FuzzServer -fuzztime=$(FUZZTIME) ./hostio/xenstore/xenstored/
	$(GO) test -run='^$$' -fuzz=FuzzReadRecord -fuzztime=$(FUZZTIME) ./hostio/hypervisor/
	$(GO) test -run='^$$' -fuzz=FuzzRestore -fuzztime=$(FUZZTIME) ./hostio/hypervisor/hvsim/
	$(GO) test -run='^$$' -fuzz=FuzzGate -fuzztime=$(FUZZTIME) ./internal/apiwire/

## e2e-xen: the end-to-end test on real Xen 4.17 under QEMU (docs/e2e-xen.md; packages, images and logs in E2E_DIR)
E2E_DIR ?= $(CURDIR)/build/xen-in-qemu
.PHONY: e2e-xen
e2e-xen:
	./scripts/install-test-deps.sh
	./test/xen-in-qemu/e2e-xen.sh $(E2E_DIR)

## clean: remove built binaries and the run directory
clean:
	rm -rf $(BIN) $(RUNDIR)

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)
