// The Function App that runs crmsync's Go custom handler on Linux, on the plan
// chosen by a parameter.
//
// Flex Consumption (default) runs custom handlers: the platform's Flex runtime
// stack lists "custom" with functionAppConfig.runtime { name: 'custom',
// version: '1.0' } for SKU FC1 (Azure/azure-powershell,
// src/Functions/Functions.Autorest/custom/FunctionsStackFlexData/*/custom.json),
// and the custom-handler docs say a custom handler deploys to every hosting
// option (learn.microsoft.com/azure/azure-functions/functions-custom-handlers,
// "Deploying"). On Flex the runtime and package location live in
// functionAppConfig, so FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION
// and WEBSITE_RUN_FROM_PACKAGE must not be app settings there.
//
// Consumption (Y1, Linux) is retiring on 30 Sep 2028 and only runs from a
// package URL; Elastic Premium (EP1) runs from a package pushed by zip deploy.
// Neither plan gets an Azure Files content share here: that share needs a
// storage key, and the storage account has shared-key access off.

@description('Globally unique Function App name (becomes <name>.azurewebsites.net).')
@minLength(2)
@maxLength(60)
param name string

@description('Name of the hosting plan.')
@minLength(1)
@maxLength(60)
param planName string

@description('Azure region of the plan and the app.')
param location string

@description('Hosting plan: FlexConsumption (default, scales to zero), Consumption (Linux Y1, retiring 2028) or ElasticPremium (EP1, always warm, billed per hour).')
@allowed([
  'FlexConsumption'
  'Consumption'
  'ElasticPremium'
])
param plan string = 'FlexConsumption'

@description('Resource ID of the user-assigned identity the app runs as.')
param identityId string

@description('Client ID of that identity.')
param identityClientId string

@description('Name of the storage account used as AzureWebJobsStorage and for crmsync\'s tables and queues.')
param storageAccountName string

@description('Blob endpoint of the storage account.')
param blobEndpoint string

@description('Queue endpoint of the storage account.')
param queueEndpoint string

@description('Table endpoint of the storage account.')
param tableEndpoint string

@description('URL of the blob container that holds the deployment package.')
param packageContainerUrl string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('crmsync\'s own app settings, as name → value (see shared/settings).')
param appSettings object

@description('Flex Consumption only: the most instances the app may scale out to (40-1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Flex Consumption only: memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Tags applied to every resource.')
param tags object = {}

var isFlex = plan == 'FlexConsumption'

var skus = {
  FlexConsumption: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  Consumption: {
    name: 'Y1'
    tier: 'Dynamic'
  }
  ElasticPremium: {
    name: 'EP1'
    tier: 'ElasticPremium'
  }
}

// Host storage through the managed identity: no connection string, no key.
var hostSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
}

// Settings the classic plans need and Flex Consumption rejects.
var classicSettings = {
  FUNCTIONS_EXTENSION_VERSION: '~4'
  FUNCTIONS_WORKER_RUNTIME: 'custom'
}

var packageSettings = {
  FlexConsumption: {}
  // Linux Consumption supports only a package URL; the identity fetches the blob.
  Consumption: {
    WEBSITE_RUN_FROM_PACKAGE: '${packageContainerUrl}/app.zip'
    WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: identityId
  }
  // Zip deploy stores the package on the app's own storage and runs from it.
  ElasticPremium: {
    WEBSITE_RUN_FROM_PACKAGE: '1'
  }
}

var allSettings = union(appSettings, hostSettings, isFlex ? {} : classicSettings, packageSettings[plan])

resource hostingPlan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: plan == 'ElasticPremium' ? 'elastic' : 'functionapp'
  sku: skus[plan]
  properties: {
    reserved: true
    maximumElasticWorkerCount: plan == 'ElasticPremium' ? 20 : null
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'app'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: hostingPlan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    functionAppConfig: isFlex ? {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: packageContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
    } : null
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [for s in items(allSettings): {
        name: s.key
        value: s.value
      }]
    }
  }
}

// No publishing passwords: deployments authenticate with Microsoft Entra ID.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Name of the Function App.')
output name string = site.name

@description('Default host name, e.g. <name>.azurewebsites.net.')
output defaultHostName string = site.properties.defaultHostName

@description('HTTPS base URL of the app.')
output url string = 'https://${site.properties.defaultHostName}'
