// The user-assigned managed identity the Function App runs as. A user-assigned
// identity (rather than the system-assigned one) exists before the app does,
// so its role assignments are in place when the app first starts and reads
// its host storage.

@description('Name of the identity.')
@minLength(3)
@maxLength(128)
param name string

@description('Azure region of the identity.')
param location string

@description('Tags applied to every resource.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource ID of the identity.')
output id string = identity.id

@description('Client (application) ID, used as AzureWebJobsStorage__clientId and AZURE_CLIENT_ID.')
output clientId string = identity.properties.clientId

@description('Object (principal) ID, used in role assignments.')
output principalId string = identity.properties.principalId
