// Log Analytics + workspace-based Application Insights. The Functions host
// forwards the custom handler's stdout/stderr (where slog writes JSON lines)
// to Application Insights as traces, which land in the workspace.

@description('Name of the Log Analytics workspace.')
@minLength(4)
@maxLength(63)
param workspaceName string

@description('Name of the Application Insights component.')
@minLength(1)
@maxLength(260)
param appInsightsName string

@description('Azure region of both resources.')
param location string

@description('Days Log Analytics keeps data; 30 is the free retention period.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Daily ingestion cap in GB (-1 = no cap). A cap keeps a logging mistake from becoming a bill.')
param dailyQuotaGb int = 1

@description('Tags applied to every resource.')
param tags object = {}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    workspaceCapping: {
      dailyQuotaGb: dailyQuotaGb
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
  }
}

@description('Resource ID of the workspace.')
output workspaceId string = workspace.id

@description('Application Insights connection string (an ingestion endpoint and key, not a credential that can read data).')
output connectionString string = appInsights.properties.ConnectionString
