# specbed: every target calls the Go CLI (bin/specbed); the CLI does the work.
# Go lives in /usr/local/go on our machines; make it findable from make.
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN := bin/specbed
# Test timeout covers a cold kernel build of all three platforms.
TEST_TIMEOUT ?= 45m

.PHONY: all build setup images contexts test stress bench reproduce scenarios sim sim-testdata sim-slip-testdata clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/specbed

setup: build
	$(BIN) setup

images: setup
	$(BIN) images build

# The UDP send path's test contexts, for specbed specialize by hand (README).
contexts: build
	$(BIN) specialize contexts -o out/contexts

test: images
	$(GO) vet ./...
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

# The close guard's rounds (images/specnet/guards, UDP and TCP): make test
# runs 100 per platform, stress 1000. The SA-1110's TCP stream over SLIP:
# make test sends 1 MB, stress 10 MB (about 7 minutes at the line's rate).
stress: images
	SPECBED_CLOSE_ROUNDS=1000 $(GO) test -count=1 -run '^(TestCloseGuard|TestTCPCloseGuard)$$' -timeout $(TEST_TIMEOUT) ./images/specnet/guards/
	SPECBED_SLIP_STREAM_BYTES=10485760 $(GO) test -count=1 -run '^TestTCPStreamSpecialized$$/^sa1100$$' -timeout $(TEST_TIMEOUT) ./images/specnet/tcpsend/

bench: images
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout $(TEST_TIMEOUT) ./...

reproduce: images
	$(BIN) reproduce

# Every scenario of the library on every platform (scenarios/README.md);
# those the runner cannot run yet are listed with the reason.
scenarios: images
	$(BIN) run scenarios/paper/*.yaml scenarios/guards/*.yaml scenarios/faults/*.yaml \
		--parallel 2 --allow-not-runnable --junit out/scenarios/junit.xml

# The sim model calibrated on its stored bundle, and its sweep (sim/README.md).
sim: build
	$(BIN) sim calibrate sim/testdata/bundle.json
	$(BIN) sim sweep

# sim's stored bundle: a fresh full reproduce run, copied unchanged.
sim-testdata: images
	$(BIN) reproduce --out out/sim/reproduce
	cp out/sim/reproduce/bundle.json sim/testdata/bundle.json

# One more run of each SA-1110 SLIP-rate scenario of sim's testdata (about 40 s
# each): the outcome joins the stored runs as the next number of its rate.
sim-slip-testdata: images
	for f in sim/testdata/scenarios/slip-*.yaml; do \
		r=$$(basename $$f .yaml | sed 's/slip-//'); \
		$(BIN) run $$f --platform sa1100 --out out/sim/slip || exit 1; \
		n=$$(ls sim/testdata/run-slip-$$r-sa1100-*-outcome.json 2>/dev/null | wc -l); \
		cp out/sim/slip/sim-slip-$$r/sa1100/outcome.json sim/testdata/run-slip-$$r-sa1100-$$((n + 1))-outcome.json; \
	done

clean:
	rm -rf bin
