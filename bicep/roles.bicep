// Role assignments: exactly what the Function App's identity needs, each on
// the narrowest scope that works. infra/infratest checks that every role here
// is one the code (or the Functions host) actually uses, with the reason.
//
//   Storage Table Data Contributor  (storage account) — tablestore (NewAzureWithCredential) reads and
//       writes links, cursors, issues, sessions … and creates tables on first use.
//   Storage Queue Data Contributor  (storage account) — queue (NewAzureWithCredential) enqueues sync
//       sessions; the Functions queue trigger reads, deletes and moves messages to
//       the -poison queue.
//   Storage Blob Data Owner         (storage account) — the Functions host keeps
//       its own state in blobs of AzureWebJobsStorage (timer schedule monitor and
//       singleton leases, host keys) and, on Flex Consumption, reads the
//       deployment package from the package container. The host docs name Owner
//       (not Contributor) for identity-based host storage because it manages
//       blob leases and containers.
//   Key Vault Secrets Officer       (vault) — the Key Vault key ring (keyring.Open) reads key versions
//       and keyrotation writes new ones (Secrets User would be read-only); the
//       Functions platform also resolves Key Vault references in app settings
//       with this identity.
//
// Optional, for the person or pipeline that runs `make deploy` on the
// Consumption plan only:
//   Storage Blob Data Contributor   (package container) — uploads dist/app.zip
//       as the run-from-package blob, because shared-key access is off.

@description('Object (principal) ID of the Function App\'s managed identity.')
param principalId string

@description('Name of the storage account the roles apply to.')
param storageAccountName string

@description('Name of the blob container holding the deployment package.')
param packageContainerName string

@description('Name of the Key Vault the secrets role applies to.')
param vaultName string

@description('Object ID of whoever runs `make deploy`; when set, it may upload the package blob (needed on the Consumption plan only). Empty = no deployer role.')
param deployerPrincipalId string = ''

@description('Kind of principal deployerPrincipalId names.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

// Built-in role definition IDs (identical in every Azure cloud).
var roleIds = {
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${storageAccountName}/default/${packageContainerName}'
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource tableData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roleIds.storageTableDataContributor)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageTableDataContributor)
  }
}

resource queueData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roleIds.storageQueueDataContributor)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageQueueDataContributor)
  }
}

resource blobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roleIds.storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataOwner)
  }
}

resource vaultSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roleIds.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsOfficer)
  }
}

resource deployerUpload 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(packageContainer.id, deployerPrincipalId, roleIds.storageBlobDataContributor)
  scope: packageContainer
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
  }
}
