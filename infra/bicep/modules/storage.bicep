// The Data Lake Gen2 account: `lake` holds extracted Parquet (CATALOG_LAKE_URL), `reports` the profile reports
// exported from the catalog. Reached with the identity (Storage Blob Data Contributor), never an account key.
param accountName string
param location string
param tags object
param sku string
param principalId string
param privateNetwork bool
param privateEndpointSubnetId string
@description('Private DNS zone ids by name (blob, dfs) in private mode.')
param privateDnsZoneIds object
param logAnalyticsId string

var blobDataContributor = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: public access is the default mode's (dev); privateNetwork=true (prod parameters) turns it off
  // checkov:skip=CKV_AZURE_206: the storageSku parameter chooses the replication (ZRS by default, GZRS in prod)
  // checkov:skip=CKV_AZURE_43: the name is computed (take(name + 'lake' + uniqueString(...), 24)): lowercase, 3-24
  name: accountName
  location: location
  tags: tags
  sku: { name: sku }
  kind: 'StorageV2'
  properties: {
    isHnsEnabled: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetwork ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 7 }
    containerDeleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for container in [ 'lake', 'reports' ]: {
  parent: blobs
  name: container
  properties: { publicAccess: 'None' }
}]

resource contributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, blobDataContributor)
  scope: account
  properties: { roleDefinitionId: blobDataContributor, principalId: principalId, principalType: 'ServicePrincipal' }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs'
  scope: blobs
  properties: {
    workspaceId: logAnalyticsId
    logs: [ { category: 'StorageRead', enabled: true }, { category: 'StorageWrite', enabled: true }, { category: 'StorageDelete', enabled: true } ]
  }
}

// adlfs talks to the blob endpoint; the dfs one serves the Data Lake (hierarchical namespace) operations.
var endpointGroups = privateNetwork ? [ 'blob', 'dfs' ] : []

module endpoints 'private-endpoint.bicep' = [for groupId in endpointGroups: {
  name: '${accountName}-${groupId}-endpoint'
  params: {
    name: '${accountName}-${groupId}'
    location: location
    tags: tags
    serviceId: account.id
    groupId: groupId
    subnetId: privateEndpointSubnetId
    privateDnsZoneId: privateDnsZoneIds[groupId]
  }
}]

output accountName string = account.name
