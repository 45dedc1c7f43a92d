// Key Vault in RBAC mode: the only place the deployment's secrets live. The apps read them as Key Vault references
// (Key Vault Secrets User on the identity) and sources may name further secrets as `keyvault:NAME`.
param vaultName string
param location string
param tags object
param principalId string
param privateNetwork bool
param privateEndpointSubnetId string
param privateDnsZoneId string
param logAnalyticsId string
param postgresHost string
param postgresAdminLogin string
@secure()
param postgresAdminPassword string
param redisName string
param applicationInsightsName string
@secure()
param catalogSecretKey string

var secretsUser = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')

resource cache 'Microsoft.Cache/redis@2024-03-01' existing = {
  name: redisName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: public access is the default mode's (dev); privateNetwork=true (prod parameters) turns it off
  // checkov:skip=CKV_AZURE_189: public access is the default mode's (dev); privateNetwork=true (prod parameters) turns it off
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'
    networkAcls: { defaultAction: privateNetwork ? 'Deny' : 'Allow', bypass: 'AzureServices' }
  }
}

var redisKey = cache.listKeys().primaryKey
var values = {
  'catalog-database-url': 'postgresql+psycopg://${uriComponent(postgresAdminLogin)}:${uriComponent(postgresAdminPassword)}@${postgresHost}:5432/catalog?sslmode=require'
  'catalog-broker-url': 'rediss://:${uriComponent(redisKey)}@${cache.properties.hostName}:${cache.properties.sslPort}/0'
  'catalog-redis-password': redisKey
  'catalog-secret-key': catalogSecretKey
  // Traces (APPLICATIONINSIGHTS_CONNECTION_STRING): the string lets whoever holds it write telemetry.
  'catalog-appinsights-connection-string': insights.properties.ConnectionString
}

resource secrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for secret in items(values): {
  // checkov:skip=CKV_AZURE_41: the deployment rewrites these secrets on every run; an expiry would stop the service
  parent: vault
  name: secret.key
  properties: {
    value: secret.value
    contentType: 'text/plain'
  }
}]

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, secretsUser)
  scope: vault
  properties: { roleDefinitionId: secretsUser, principalId: principalId, principalType: 'ServicePrincipal' }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit'
  scope: vault
  properties: {
    workspaceId: logAnalyticsId
    logs: [ { categoryGroup: 'audit', enabled: true } ]
  }
}

module endpoint 'private-endpoint.bicep' = if (privateNetwork) {
  name: '${vaultName}-endpoint'
  params: {
    name: '${vaultName}-vault'
    location: location
    tags: tags
    serviceId: vault.id
    groupId: 'vault'
    subnetId: privateEndpointSubnetId
    privateDnsZoneId: privateDnsZoneId
  }
}

output vaultUri string = vault.properties.vaultUri
// Versionless: a rotated secret reaches the apps on their next revision or restart.
output secretUris object = {
  databaseUrl: '${vault.properties.vaultUri}secrets/catalog-database-url'
  brokerUrl: '${vault.properties.vaultUri}secrets/catalog-broker-url'
  redisPassword: '${vault.properties.vaultUri}secrets/catalog-redis-password'
  secretKey: '${vault.properties.vaultUri}secrets/catalog-secret-key'
  applicationInsights: '${vault.properties.vaultUri}secrets/catalog-appinsights-connection-string'
}
