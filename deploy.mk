# Deployment targets, included by the main Makefile.
#
#   make deploy          deploy infra/main.bicep and dist/app.zip to Azure (az CLI)
#   make package-lambda  build dist/lambda.zip: a linux/arm64 "bootstrap" for
#                        the provided.al2023 Lambda runtime
#
# Neither can reach a cloud from the build machines; README.md ("Deploy to Azure", "Run on AWS Lambda") explains
# the prerequisites and settings.

GO         ?= go
# Where package-lambda builds; infra/infratest overrides both to build into a
# temporary folder.
LAMBDA_DIR ?= dist/lambda
LAMBDA_ZIP ?= dist/lambda.zip

.PHONY: deploy package-lambda

# deploy needs the Functions package; `package` is defined in the main Makefile.
deploy: package
	sh infra/deploy.sh

# lambda.norpc drops the legacy net/rpc runtime protocol, which provided.al2023
# does not use.
package-lambda:
	mkdir -p $(LAMBDA_DIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc \
		-ldflags='-s -w' -o $(LAMBDA_DIR)/bootstrap ./functions
	$(GO) run ./infra/cmd/ziplambda -o $(LAMBDA_ZIP) $(LAMBDA_DIR)/bootstrap
