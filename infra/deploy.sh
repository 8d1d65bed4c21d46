#!/bin/sh
# Deploys crmsync to Azure with the az CLI: creates the resource group, deploys
# infra/main.bicep, then pushes dist/app.zip (from `make package`) to the
# Function App. Run it through `make deploy`; settings come from the
# environment (see README.md#deploy-to-azure). It cannot be exercised on the build
# machines (no Azure there); infra/infratest checks only its refusals.
set -eu

die() {
	echo "deploy: $*" >&2
	exit 1
}

need() {
	eval "val=\${$1:-}"
	[ -n "$val" ] || die "$1 is not set: $2"
}

command -v az >/dev/null 2>&1 ||
	die "the Azure CLI (az) is not installed; install it (https://learn.microsoft.com/cli/azure/install-azure-cli) and run 'az login'"
az account show --output none >/dev/null 2>&1 ||
	die "the Azure CLI is not logged in; run 'az login' (and 'az account set --subscription <id>' to pick the subscription)"

need CRMSYNC_NAME_PREFIX "3-11 lowercase letters and digits naming the deployment, e.g. crmsyncprod"
need CRMSYNC_LOCATION "the Azure region, e.g. westeurope"
need CRMSYNC_ENTRA_CLIENT_ID "the application (client) ID of the Microsoft Entra app registration"
need CRMSYNC_ENTRA_CLIENT_SECRET "a client secret of that app registration"
need CRMSYNC_SALESFORCE_CLIENT_ID "the consumer key of the Salesforce External Client App"
need CRMSYNC_SALESFORCE_CLIENT_SECRET "the consumer secret of the Salesforce External Client App"

package=${CRMSYNC_PACKAGE:-dist/app.zip}
[ -f "$package" ] || die "$package is missing; run 'make package' first"

group=${CRMSYNC_RESOURCE_GROUP:-rg-$CRMSYNC_NAME_PREFIX}
plan=${CRMSYNC_PLAN:-FlexConsumption}
case $plan in
FlexConsumption | Consumption | ElasticPremium) ;;
*) die "CRMSYNC_PLAN=$plan: use FlexConsumption, Consumption or ElasticPremium" ;;
esac

# json_array turns "a, b" into ["a","b"]; origins and tenant IDs hold no
# spaces, quotes or backslashes.
json_array() {
	list=$(printf '%s' "$1" | tr -d ' \t')
	printf '['
	sep=
	old_ifs=$IFS
	IFS=,
	for v in $list; do
		[ -n "$v" ] || continue
		case $v in *'"'* | *'\'*) die "list value '$v' must not contain quotes or backslashes" ;; esac
		printf '%s"%s"' "$sep" "$v"
		sep=,
	done
	IFS=$old_ifs
	printf ']'
}

deployer=
deployer_type=User
if [ "$plan" = Consumption ]; then
	# On Consumption the package is a blob the deployer uploads (shared keys are off).
	if [ -n "${CRMSYNC_DEPLOYER_ID:-}" ]; then
		deployer=$CRMSYNC_DEPLOYER_ID
		deployer_type=ServicePrincipal
	else
		deployer=$(az ad signed-in-user show --query id --output tsv 2>/dev/null) ||
			die "cannot read your object ID (az ad signed-in-user show); a service principal must set CRMSYNC_DEPLOYER_ID to its object ID"
	fi
fi

# A fixed session key keeps people signed in across redeploys; without one the
# template generates a fresh key on every deployment.
session_param=
if [ -n "${CRMSYNC_SESSION_KEY:-}" ]; then
	session_param="sessionKey=$CRMSYNC_SESSION_KEY"
fi

# Assignments, so that a bad list value stops the script (set -e).
tenants=$(json_array "${CRMSYNC_ALLOWED_TENANTS:-}")
origins=$(json_array "${CRMSYNC_ADDIN_ORIGINS:-}")

echo "deploy: resource group $group in $CRMSYNC_LOCATION"
az group create --name "$group" --location "$CRMSYNC_LOCATION" --tags app=crmsync --output none

echo "deploy: infra/main.bicep (plan $plan) — this takes a few minutes"
az deployment group create \
	--resource-group "$group" \
	--name crmsync \
	--template-file infra/main.bicep \
	--parameters \
	namePrefix="$CRMSYNC_NAME_PREFIX" \
	location="$CRMSYNC_LOCATION" \
	plan="$plan" \
	tenancy="${CRMSYNC_TENANCY:-single}" \
	allowedTenants="$tenants" \
	addinOrigins="$origins" \
	entraClientId="$CRMSYNC_ENTRA_CLIENT_ID" \
	entraClientSecret="$CRMSYNC_ENTRA_CLIENT_SECRET" \
	salesforceClientId="$CRMSYNC_SALESFORCE_CLIENT_ID" \
	salesforceClientSecret="$CRMSYNC_SALESFORCE_CLIENT_SECRET" \
	salesforceLoginUrl="${CRMSYNC_SALESFORCE_LOGIN_URL:-https://login.salesforce.com}" \
	deployerPrincipalId="$deployer" \
	deployerPrincipalType="$deployer_type" \
	${session_param:+"$session_param"} \
	--output none

# Output names come back re-cased by ARM, so read resources by tag instead.
app=$(az functionapp list --resource-group "$group" --query "[?tags.app=='crmsync'].name | [0]" --output tsv)
[ -n "$app" ] || die "the deployment finished but no Function App tagged app=crmsync is in $group"
account=$(az storage account list --resource-group "$group" --query "[?tags.app=='crmsync'].name | [0]" --output tsv)

echo "deploy: pushing $package to $app"
if [ "$plan" = Consumption ]; then
	# The role assignment for the upload can take a minute to apply.
	tries=0
	until az storage blob upload --auth-mode login --account-name "$account" \
		--container-name app-package --name app.zip --file "$package" --overwrite --output none; do
		tries=$((tries + 1))
		[ "$tries" -lt 5 ] || die "uploading the package failed 5 times; check that you hold Storage Blob Data Contributor on $account/app-package"
		echo "deploy: upload refused (role assignments may still be propagating); retrying in 30 s"
		sleep 30
	done
	az functionapp restart --resource-group "$group" --name "$app" --output none
else
	az functionapp deployment source config-zip --resource-group "$group" --name "$app" --src "$package" --output none
fi

url="https://$(az functionapp show --resource-group "$group" --name "$app" --query defaultHostName --output tsv)"
cat <<DONE
deploy: done.
  dashboard:                 $url/api/dashboard
  Entra redirect URIs (Web): $url/api/dashboard/auth/microsoft/callback
                             $url/api/dashboard/connect/microsoft/callback
  Salesforce callback URLs:  $url/api/dashboard/auth/salesforce/callback
                             $url/api/dashboard/connect/salesforce/callback
Register these four redirect URIs if you have not yet (README.md#deploy-to-azure).
DONE
