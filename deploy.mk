# Deployment targets, included by the main Makefile.
#
#   make deploy          deploy infra/main.bicep and dist/app.zip to Azure (az CLI)
#   make package-lambda  build dist/lambda.zip: a linux/arm64 "bootstrap" for
#                        the provided.al2023 Lambda runtime
#
# Neither can reach a cloud from the build machines; README.md ("Deploy to Azure", "Run on AWS Lambda") explains
# the prerequisites and settings.

LAMBDA_DIR := dist/lambda

.PHONY: deploy package-lambda

# deploy needs the Functions package; `package` is defined in the main Makefile.
deploy: package
	sh infra/deploy.sh

# lambda.norpc drops the legacy net/rpc runtime protocol, which provided.al2023
# does not use.
package-lambda:
	mkdir -p $(LAMBDA_DIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -tags lambda.norpc \
		-ldflags='-s -w' -o $(LAMBDA_DIR)/bootstrap ./functions
	go run ./infra/cmd/ziplambda -o dist/lambda.zip $(LAMBDA_DIR)/bootstrap
