# crmsync — the two commands a newcomer needs are `make run` and `make test`.

GO            ?= go
AZURITE_VER   := 3.37.0
AZURITE_DIR   := .tools/azurite
AZURITE_BIN   := $(AZURITE_DIR)/node_modules/.bin/azurite-queue
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT  ?= 15m
BENCHTIME     ?= 200x
DATA          ?= .crmsync-data
ADDR          ?= 127.0.0.1:7071
GO_FILES       = $(shell find . -name '*.go' -not -path './.tools/*' -not -path './dist/*' -not -path './.run/*')

.PHONY: run test bench package check azurite

## run: build the handler, stage the app in .run/app and start the local host
##      with embedded storage and demo mode on http://$(ADDR)/
run:
	$(GO) run ./local package -out .run/app -native -nozip
	$(GO) build -o .run/crmsync-local ./local
	@echo "starting crmsync on http://$(ADDR)/"
	.run/crmsync-local serve -app .run/app -data $(DATA) -addr $(ADDR) -demo

## test: everything that runs on this machine (the CI command); Azurite is
##       installed into $(AZURITE_DIR) on first use and required, not skipped.
test: azurite
	CRMSYNC_REQUIRE_AZURITE=1 $(GO) test -timeout $(TEST_TIMEOUT) ./...
	$(GO) vet ./...

azurite: $(AZURITE_BIN)

$(AZURITE_BIN):
	npm install --prefix $(AZURITE_DIR) --no-audit --no-fund azurite@$(AZURITE_VER)

## bench: every benchmark, figures to stdout
bench: azurite
	CRMSYNC_REQUIRE_AZURITE=1 $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout $(TEST_TIMEOUT) ./...

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
