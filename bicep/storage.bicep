// Storage for crmsync: one StorageV2 account holding the Functions host's own
// storage (blob leases for timers, host keys, the deployment package), the
// tables crmsync keeps its state in and the queues that carry sync sessions.
// Shared-key access is off: every caller authenticates with Microsoft Entra ID.

@description('Globally unique storage account name: 3-24 lowercase letters and digits.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the account.')
param location string

@description('Tables crmsync reads and writes; created here so the first request does not pay for creation.')
param tables array

@description('Queues crmsync uses, poison queues included; the Functions host would create them on first use, but creating them here makes the deployment the single source of truth.')
param queues array

@description('Blob container that holds the deployment package (Flex Consumption deployment storage, or the run-from-package blob on the Consumption plan).')
@minLength(3)
@maxLength(63)
param packageContainerName string

@description('Tags applied to every resource.')
param tags object = {}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    accessTier: 'Hot'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: packageContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for t in tables: {
  parent: tableService
  name: t
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queues: {
  parent: queueService
  name: q
}]

@description('Resource ID of the storage account.')
output id string = account.id

@description('Name of the storage account.')
output name string = account.name

@description('Blob endpoint, e.g. https://<name>.blob.core.windows.net/.')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Queue endpoint, e.g. https://<name>.queue.core.windows.net/.')
output queueEndpoint string = account.properties.primaryEndpoints.queue

@description('Table endpoint, e.g. https://<name>.table.core.windows.net/.')
output tableEndpoint string = account.properties.primaryEndpoints.table

@description('URL of the deployment package container.')
output packageContainerUrl string = '${account.properties.primaryEndpoints.blob}${packageContainerName}'
