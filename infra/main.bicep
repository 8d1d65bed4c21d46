// crmsync on Azure: one resource group holding the storage account (tables,
// queues, host storage), the Key Vault with the key ring, the Function App
// running the Go custom handler, its managed identity with exactly the roles
// it needs, and Log Analytics + Application Insights.
//
//   az deployment group create -g <group> -f infra/main.bicep -p infra/main.parameters.json
//
// or `make deploy` / `azd up`, which also push the package (README.md#deploy-to-azure).

targetScope = 'resourceGroup'

@description('Short prefix for every resource name: 3-11 lowercase letters and digits, starting with a letter (it also becomes part of the storage account name, which allows nothing else).')
@minLength(3)
@maxLength(11)
param namePrefix string

@description('Azure region for every resource; defaults to the resource group\'s region. Flex Consumption is available in most, not all, regions.')
param location string = resourceGroup().location

@description('Functions hosting plan: FlexConsumption (default; scales to zero, per-execution billing), Consumption (Linux Y1, retiring 30 Sep 2028) or ElasticPremium (EP1, always-warm instance billed per hour).')
@allowed([
  'FlexConsumption'
  'Consumption'
  'ElasticPremium'
])
param plan string = 'FlexConsumption'

@description('single: one organisation (the tenants in allowedTenants, or the deploying tenant when that list is empty) may sign in. multi: any Microsoft Entra tenant may sign up, unless allowedTenants narrows it.')
@allowed([
  'single'
  'multi'
])
param tenancy string = 'single'

@description('Microsoft Entra tenant IDs (GUIDs) allowed to sign in. Empty = the deploying tenant in single mode, any tenant in multi mode.')
param allowedTenants array = []

@description('Origins (scheme://host[:port]) the Outlook add-in task pane is served from; the API answers cross-origin requests from these only. Empty = the Function App\'s own origin only.')
param addinOrigins array = []

@description('Application (client) ID of the Microsoft Entra app registration used for dashboard sign-in, the add-in\'s nested app authentication and Microsoft Graph.')
@minLength(36)
@maxLength(36)
param entraClientId string

@description('Client secret of that app registration. Stored in Key Vault; the app setting holds only a Key Vault reference.')
@secure()
@minLength(1)
param entraClientSecret string

@description('Consumer key of the Salesforce External Client App.')
@minLength(1)
param salesforceClientId string

@description('Consumer secret of the Salesforce External Client App. Stored in Key Vault; the app setting holds only a Key Vault reference.')
@secure()
@minLength(1)
param salesforceClientSecret string

@description('Base64 of at least 32 random bytes that signs session cookies, OAuth state and webhook clientState; stored in Key Vault. The default is fresh on every deployment, which signs everyone out: pass a fixed value (openssl rand -base64 48) to keep sessions across redeploys.')
@secure()
@minLength(44)
param sessionKey string = base64('${newGuid()}${newGuid()}')

@description('Salesforce login host for OAuth: https://login.salesforce.com, https://test.salesforce.com for sandboxes, or a My Domain URL.')
param salesforceLoginUrl string = 'https://login.salesforce.com'

@description('Comma-separated e-mail addresses of the organisation\'s first admins: whoever signs in to the dashboard with one of them becomes organisation admin (CRMSYNC_ADMIN_EMAILS). Empty = no admin until one is granted another way.')
param adminEmails string = ''

@description('Object ID of whoever runs the deployment. Only used on the Consumption plan, where the deployer uploads the package blob itself; leave empty otherwise.')
param deployerPrincipalId string = ''

@description('Kind of principal deployerPrincipalId names: User for a person, ServicePrincipal for a pipeline.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

@description('Flex Consumption only: the most instances the app may scale out to (40-1000); bounds the cost of a burst and the load on the CRM.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Tags applied to every resource.')
param tags object = {}

var suffix = uniqueString(resourceGroup().id, namePrefix)
var prefix = toLower(namePrefix)
var appName = '${prefix}-${suffix}'
var storageName = take('${prefix}${suffix}', 24)
var vaultName = 'kv-${prefix}-${take(suffix, 8)}'
var packageContainerName = 'app-package'
var allTags = union(tags, {
  app: 'crmsync'
  'azd-env-name': namePrefix
})

// Tables the code reads and writes (infra/infratest checks this list against
// the table names declared in shared/).
var tables = [
  'addinshares'
  'addinlayouts'
  'audit'
  'c4cknown'
  'c4cemployee'
  'connections'
  'connectstate'
  'conflicts'
  'cursors'
  'googledelegation'
  'googlemailboxes'
  'grantindex'
  'grants'
  'historydays'
  'historyorgs'
  'intents'
  'issues'
  'leases'
  'links'
  'notices'
  'notifydebounce'
  'oauthstate'
  'orgwatch'
  'orgwatchorgs'
  'orgwatchusers'
  'profiles'
  'progress'
  'schedule'
  'sessions'
  'settings'
  'sharedtasks'
  'subscriptions'
  'tracking'
  'trackingopens'
  'users'
]

// Queues: sync sessions and their poison queue (the Functions host moves a
// message there after maxDequeueCount failed attempts).
var queues = [
  'sync-sessions'
  'sync-sessions-poison'
]

// single: the deploying tenant (or allowedTenants) through its own authority;
// multi: any work or school tenant (or allowedTenants) through /organizations.
var tenantIds = !empty(allowedTenants) ? allowedTenants : (tenancy == 'single' ? [
  tenant().tenantId
] : [
  '*'
])
var loginEndpoint = environment().authentication.loginEndpoint
var entraAuthority = tenancy == 'single' ? '${loginEndpoint}${tenant().tenantId}/v2.0' : '${loginEndpoint}organizations/v2.0'

// Outlook on the web posts from its own origins; the task pane is served by the app.
var origins = !empty(addinOrigins) ? addinOrigins : [
  'https://outlook.office.com'
  'https://outlook.office365.com'
  'https://${appName}.azurewebsites.net'
]

var publicUrl = 'https://${appName}.azurewebsites.net'

// crmsync's own settings: every setting shared/settings requires is here (or
// has a default), and every one here is read by the code or an SDK it calls
// (infra/infratest checks both directions). Secrets are Key Vault references.
var crmsyncSettings = {
  CRMSYNC_STORAGE: 'azure'
  CRMSYNC_PUBLIC_URL: publicUrl
  CRMSYNC_KEYRING: vault.outputs.uri
  CRMSYNC_SESSION_KEY: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=session-key)'
  CRMSYNC_TRUSTED_PROXIES: '1'
  CRMSYNC_ENTRA_AUTHORITY: entraAuthority
  CRMSYNC_ENTRA_CLIENT_ID: entraClientId
  CRMSYNC_ENTRA_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=entra-client-secret)'
  CRMSYNC_ENTRA_ALLOWED_TENANTS: join(tenantIds, ',')
  CRMSYNC_ADDIN_ORIGINS: join(origins, ',')
  CRMSYNC_ADDIN_AUDIENCES: 'api://${appName}.azurewebsites.net/${entraClientId},${entraClientId}'
  CRMSYNC_SALESFORCE_CLIENT_ID: salesforceClientId
  CRMSYNC_SALESFORCE_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=salesforce-client-secret)'
  CRMSYNC_SALESFORCE_LOGIN_URL: salesforceLoginUrl
  CRMSYNC_ADMIN_EMAILS: adminEmails
}

module identity '../bicep/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-${prefix}'
    location: location
    tags: allTags
  }
}

module storage '../bicep/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageName
    location: location
    tables: tables
    queues: queues
    packageContainerName: packageContainerName
    tags: allTags
  }
}

module vault '../bicep/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: vaultName
    location: location
    secrets: {
      'entra-client-secret': entraClientSecret
      'salesforce-client-secret': salesforceClientSecret
      'session-key': sessionKey
    }
    tags: allTags
  }
}

module monitoring '../bicep/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: 'log-${prefix}-${take(suffix, 6)}'
    appInsightsName: 'appi-${prefix}-${take(suffix, 6)}'
    location: location
    tags: allTags
  }
}

module roles '../bicep/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    packageContainerName: packageContainerName
    vaultName: vault.outputs.name
    deployerPrincipalId: plan == 'Consumption' ? deployerPrincipalId : ''
    deployerPrincipalType: deployerPrincipalType
  }
}

module app '../bicep/functionapp.bicep' = {
  name: 'functionapp'
  // The app's first start reads host storage and Key Vault references with its
  // identity, so the roles must exist before it does.
  dependsOn: [
    roles
  ]
  params: {
    name: appName
    planName: 'plan-${prefix}-${take(suffix, 6)}'
    location: location
    plan: plan
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    packageContainerUrl: storage.outputs.packageContainerUrl
    appInsightsConnectionString: monitoring.outputs.connectionString
    appSettings: crmsyncSettings
    maximumInstanceCount: maximumInstanceCount
    tags: allTags
  }
}

@description('Name of the Function App (make deploy pushes the package to it).')
output AZURE_FUNCTION_APP_NAME string = app.outputs.name

@description('HTTPS base URL of crmsync; the dashboard is at <url>/api/dashboard.')
output FUNCTION_APP_URL string = app.outputs.url

@description('Key Vault URI holding the key ring and client secrets.')
output KEY_VAULT_URI string = vault.outputs.uri

@description('Storage account holding tables, queues and host storage.')
output STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Blob container holding the deployment package.')
output PACKAGE_CONTAINER_NAME string = packageContainerName

@description('Hosting plan the app runs on.')
output HOSTING_PLAN string = plan

@description('Microsoft Entra redirect URIs (Web platform) to register: dashboard sign-in, then mailbox connections.')
output ENTRA_REDIRECT_URIS array = [
  '${publicUrl}/api/dashboard/auth/microsoft/callback'
  '${publicUrl}/api/dashboard/connect/microsoft/callback'
]

@description('Salesforce callback URLs to register in the External Client App: sign-in, then connections.')
output SALESFORCE_CALLBACK_URLS array = [
  '${publicUrl}/api/dashboard/auth/salesforce/callback'
  '${publicUrl}/api/dashboard/connect/salesforce/callback'
]
