# crmsync — the two commands a newcomer needs are `make run` and `make test`.

GO            ?= go
AZURITE_VER   := 3.37.0
AZURITE_DIR   := .tools/azurite
AZURITE_BIN   := $(AZURITE_DIR)/node_modules/.bin/azurite-queue
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT  ?= 15m
DATA          ?= .crmsync-data
ADDR          ?= 127.0.0.1:7071
GO_FILES       = $(shell find . -name '*.go' -not -path './.tools/*' -not -path './dist/*' -not -path './.run/*')

.PHONY: run test bench package check azurite browser fuzz

# Fuzz targets run briefly in make test (package:target).
FUZZ_TARGETS  := ./shared/seal:FuzzOpen ./shared/redact:FuzzString ./shared/identity:FuzzParseJWT \
                 ./shared/identity:FuzzSessionCookie ./shared/reconcile:FuzzPlan ./shared/addin:FuzzParseSignature
FUZZTIME      ?= 4s

## run: build the handler, stage the app in .run/app and start the local host
##      with embedded storage and demo mode on http://$(ADDR)/
run:
	$(GO) run ./local package -out .run/app -native -nozip
	$(GO) build -o .run/crmsync-local ./local
	@echo "starting crmsync on http://$(ADDR)/"
	.run/crmsync-local serve -app .run/app -data $(DATA) -addr $(ADDR) -demo

## test: everything that runs on this machine (the CI command); Azurite is
##       installed into $(AZURITE_DIR) on first use and required, not skipped.
test: azurite browser
	$(GO) vet ./...
	$(MAKE) --no-print-directory fuzz
	CRMSYNC_REQUIRE_AZURITE=1 CRMSYNC_REQUIRE_BROWSER=1 $(GO) test -timeout $(TEST_TIMEOUT) ./...

## fuzz: run each fuzz target for $(FUZZTIME)
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg > /tmp/crmsync-fuzz.log 2>&1 || { cat /tmp/crmsync-fuzz.log; exit 1; }; \
	done

## browser: headless Chromium for the dashboard's browser tests (Debian package)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium (apt)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

azurite: $(AZURITE_BIN)

$(AZURITE_BIN):
	npm install --prefix $(AZURITE_DIR) --no-audit --no-fund azurite@$(AZURITE_VER)

## bench: every benchmark once (the heavy ones — initial sync of 14,000 records, 100,000-user scheduler
##        tick, 10,000-record Salesforce round trip — set up worlds per run), then the micro-benchmarks
##        for $(MICROTIME) each; figures to stdout
MICROTIME     ?= 1s
MICRO_PKGS    := ./shared/seal ./shared/item ./shared/redact ./shared/webguard ./shared/funchost \
                 ./shared/identity ./shared/tablestore ./shared/queue ./shared/reconcile ./shared/tracking
bench: azurite
	CRMSYNC_REQUIRE_AZURITE=1 $(GO) test -run '^$$' -bench . -benchtime 1x -timeout $(TEST_TIMEOUT) ./...
	CRMSYNC_REQUIRE_AZURITE=1 $(GO) test -run '^$$' -bench . -benchtime $(MICROTIME) -timeout $(TEST_TIMEOUT) $(MICRO_PKGS)

## package: stage dist/app (host.json, <function>/function.json, linux/amd64
##          handler) and dist/app.zip for Azure Functions
package:
	$(GO) run ./local package -out dist/app

# package-lambda and deploy live in deploy.mk (AWS Lambda and Azure deployment issues).
-include deploy.mk

## check: formatting, vet and staticcheck
check:
	@unformatted="$$(gofmt -l $(GO_FILES))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
