# crmsync — the two commands a newcomer needs are `make run` and `make test`.

GO            ?= go
AZURITE_VER   := 3.37.0
AZURITE_DIR   := .tools/azurite
AZURITE_BIN   := $(AZURITE_DIR)/node_modules/.bin/azurite-queue
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT  ?= 15m
ADDR          ?= 127.0.0.1:7071
# CRM of the demo world: salesforce, or c4c (a seeded local SAP Cloud for Customer).
CRM           ?= salesforce
# Mailbox of the demo world: microsoft, or google (a seeded local Google Workspace).
MAILBOX       ?= microsoft
# Each demo world keeps its own data folder: the demo user's links and
# cursors of one world are not the other's (make run CRM=c4c after make run
# would otherwise sync the Salesforce world's links against C4C).
DATA          ?= .crmsync-data$(if $(filter-out salesforce,$(CRM)),-$(CRM))$(if $(filter-out microsoft,$(MAILBOX)),-$(MAILBOX))
GO_FILES       = $(shell find . -name '*.go' -not -path './.tools/*' -not -path './dist/*' -not -path './.run/*')

.PHONY: run test bench package check azurite browser node fuzz manifest xmllint

# Fuzz targets run briefly in make test (package:target). FUZZTIME is a count
# of executions, not a duration: with a duration, Go 1.26's fuzz coordinator
# can report its own -fuzztime deadline as a failure ("context deadline
# exceeded", no failing input written) when a worker is mid-execution at the
# end on a loaded machine (golang/go#75804, fixed in Go 1.27). 10000 runs take
# 2-6 s per target here.
FUZZ_TARGETS  := ./shared/seal:FuzzOpen ./shared/redact:FuzzString ./shared/identity:FuzzParseJWT \
                 ./shared/identity:FuzzSessionCookie ./shared/reconcile:FuzzPlan ./shared/addin:FuzzParseSignature
FUZZTIME      ?= 10000x

## run: build the local host and the handler, stage the app in .run/app and
##      start the local host with embedded storage and demo mode on
##      http://$(ADDR)/ (each step says what it is doing: a cold build takes a
##      minute or two)
run:
	@mkdir -p .run
	@echo "building the local host (.run/crmsync-local; a first build compiles the Azure SDKs and SQLite, about a minute)…"
	@$(GO) build -o .run/crmsync-local ./local
	@.run/crmsync-local package -out .run/app -native -nozip
	@echo "starting crmsync on http://$(ADDR)/ (demo mode, data in $(DATA); Ctrl-C stops)…"
	@.run/crmsync-local serve -app .run/app -data $(DATA) -addr $(ADDR) -demo -crm $(CRM) -mailbox $(MAILBOX)

## test: everything that runs on this machine (the CI command); Azurite is
##       installed into $(AZURITE_DIR) on first use and required, not skipped,
##       and so is a headless Chrome or Chromium (see browser).
test: azurite browser xmllint
	$(GO) vet ./...
	$(MAKE) --no-print-directory fuzz
	@chrome="$$($(GO) run ./local/findchrome)" && echo "browser tests use $$chrome" && \
	echo "CRMSYNC_REQUIRE_AZURITE=1 CRMSYNC_REQUIRE_BROWSER=1 CHROME=$$chrome $(GO) test -timeout $(TEST_TIMEOUT) ./..." && \
	CHROME="$$chrome" CRMSYNC_REQUIRE_AZURITE=1 CRMSYNC_REQUIRE_BROWSER=1 \
		$(GO) test -timeout $(TEST_TIMEOUT) ./...

## fuzz: run each fuzz target for $(FUZZTIME) (a count of executions)
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg > /tmp/crmsync-fuzz.log 2>&1 || { cat /tmp/crmsync-fuzz.log; exit 1; }; \
	done

## browser: a headless Chrome or Chromium for the browser tests, found as the
##          tests find it (local/findchrome: $CHROME, else chromium,
##          chromium-browser, google-chrome, google-chrome-stable on PATH, else
##          the macOS applications). When there is none and CHROME is unset,
##          Debian's chromium is installed with apt, as root on Debian only;
##          anywhere else make stops with one message saying what to install.
browser:
	@if why="$$($(GO) run ./local/findchrome 2>&1 >/dev/null)"; then exit 0; fi; \
	if [ -z "$$CHROME" ] && [ -f /etc/debian_version ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "no Chrome or Chromium found: installing Debian's chromium (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null && \
		$(GO) run ./local/findchrome >/dev/null; \
	else \
		echo "make test needs a headless Chrome or Chromium for the browser tests: $$(printf '%s\n' "$$why" | grep -v '^exit status')" >&2; exit 1; \
	fi

## manifest: write the Outlook add-in manifests for a deployment into
##           dist/manifest (URL=https://<app>.azurewebsites.net, or
##           $$CRMSYNC_PUBLIC_URL; CLIENT_ID= the add-in's Entra application id)
manifest:
	@$(GO) run ./local/manifest $(if $(URL),-url $(URL)) $(if $(CLIENT_ID),-client-id $(CLIENT_ID))

## xmllint: the add-in manifest test validates the XML manifest with xmllint
##          (libxml2-utils); installed with apt like Chromium when missing
xmllint:
	@command -v xmllint >/dev/null 2>&1 && exit 0; \
	if [ -f /etc/debian_version ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "no xmllint found: installing Debian's libxml2-utils (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libxml2-utils >/dev/null; \
	else \
		echo "make test needs xmllint (libxml2-utils) to validate the add-in manifest: install it and run make test again" >&2; exit 1; \
	fi

azurite: node $(AZURITE_BIN)

## node: Azurite runs on Node.js; 3.37.0 declares node >= 22 but runs on
##       Node 20 (npm warns EBADENGINE; CI uses 20), so $(NODE_MIN) is the floor.
NODE_MIN      := 20
node:
	@command -v node >/dev/null 2>&1 || { \
		echo "make test needs Node.js $(NODE_MIN) or newer (22 recommended) and npm, to run the Azurite storage emulator; node is not on PATH: install Node.js (https://nodejs.org/ or your package manager) and run make test again" >&2; exit 1; }
	@v="$$(node -p 'process.versions.node' 2>/dev/null)"; major="$${v%%.*}"; \
	case "$$major" in ''|*[!0-9]*) major=0;; esac; \
	if [ "$$major" -lt $(NODE_MIN) ]; then \
		echo "make test needs Node.js $(NODE_MIN) or newer (22 recommended) for Azurite $(AZURITE_VER); this node is $${v:-unknown} ($$(command -v node)): upgrade Node.js and run make test again" >&2; exit 1; fi

$(AZURITE_BIN): | node
	@command -v npm >/dev/null 2>&1 || { \
		echo "make test needs npm (it comes with Node.js) to install Azurite $(AZURITE_VER) into $(AZURITE_DIR); npm is not on PATH" >&2; exit 1; }
	@echo "installing Azurite $(AZURITE_VER) into $(AZURITE_DIR) (npm; about 40 s once)"
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
