// The catalog on Azure: Container Apps (api, worker, scheduler, migration job) over PostgreSQL Flexible Server,
// Azure Cache for Redis (the dramatiq broker), Event Hubs, Key Vault, a Data Lake Gen2 account and Log Analytics +
// Application Insights, all reached with one user-assigned managed identity. docs/deploy-azure.md walks through it.
targetScope = 'resourceGroup'

@description('Short name prefixed to every resource (lowercase letters and digits).')
@minLength(3)
@maxLength(12)
param name string

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('The catalog image, e.g. myregistry.azurecr.io/catalog:1.4.0.')
param image string

@description('Name of the Azure Container Registry holding the image (same resource group); the identity gets AcrPull on it.')
param registryName string

@description('PostgreSQL administrator login; its password and the database URL built from it go to Key Vault only.')
param postgresAdminLogin string = 'catalogadmin'

@description('PostgreSQL administrator password.')
@secure()
param postgresAdminPassword string

@description('Key of the catalog\'s local secret store (CATALOG_SECRET_KEY); stored in Key Vault only.')
@secure()
param catalogSecretKey string

@description('Private mode: VNet integration for the apps, private endpoints for Key Vault, storage, Redis and Event Hubs, a VNet-injected PostgreSQL; no public network access.')
param privateNetwork bool = false

@description('Private mode: address space of the VNet, and its subnets for the apps (/23 at least), PostgreSQL and private endpoints.')
param vnetAddressPrefix string = '10.40.0.0/16'
param appsSubnetPrefix string = '10.40.0.0/23'
param postgresSubnetPrefix string = '10.40.2.0/24'
param endpointsSubnetPrefix string = '10.40.3.0/24'

@description('API replicas: at least and at most.')
param apiMinReplicas int = 1
param apiMaxReplicas int = 3

@description('Worker replicas: at least (0 lets KEDA scale to zero) and at most.')
param workerMinReplicas int = 0
param workerMaxReplicas int = 5

@description('Messages waiting on one broker queue per worker replica before KEDA adds one.')
param workerQueueLengthPerReplica int = 5

@description('Seconds the api, worker and scheduler take at most to stop after SIGTERM (CATALOG_SHUTDOWN_TIMEOUT_S); each app\'s grace period before SIGKILL is 10 s longer.')
@minValue(1)
@maxValue(300)
param shutdownTimeoutSeconds int = 25

@description('Port of the worker\'s Prometheus metrics inside its replica (CATALOG_WORKER_METRICS_PORT), scraped by the collector beside it.')
@minValue(1024)
@maxValue(65535)
param workerMetricsPort int = 9191

@description('OpenTelemetry Collector (contrib) image that sends the worker\'s metrics to Application Insights; mirror it into your registry in private mode.')
param metricsCollectorImage string = 'otel/opentelemetry-collector-contrib:0.115.0'

@description('PostgreSQL Flexible Server SKU and tier (e.g. Standard_B1ms/Burstable, Standard_D2ds_v5/GeneralPurpose).')
param postgresSku string = 'Standard_B1ms'
param postgresTier string = 'Burstable'

@description('Zone-redundant high availability for PostgreSQL (needs GeneralPurpose or MemoryOptimized).')
param postgresHighAvailability bool = false

@description('Geo-redundant PostgreSQL backups.')
param postgresGeoRedundantBackup bool = false

@description('Azure Cache for Redis SKU: Basic, Standard or Premium; capacity 0-6.')
param redisSku string = 'Standard'
param redisCapacity int = 1

@description('Storage replication of the lake (e.g. Standard_ZRS, Standard_GZRS).')
param storageSku string = 'Standard_ZRS'

@description('Days Log Analytics keeps logs.')
param logRetentionDays int = 30

var suffix = uniqueString(resourceGroup().id, name)
var tags = { application: 'catalog', deployment: name }

module monitoring 'modules/monitoring.bicep' = {
  name: '${name}-monitoring'
  params: { name: name, location: location, tags: tags, retentionDays: logRetentionDays }
}

module identity 'modules/identity.bicep' = {
  name: '${name}-identity'
  params: { name: name, location: location, tags: tags }
}

module network 'modules/network.bicep' = if (privateNetwork) {
  name: '${name}-network'
  params: {
    name: name
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    appsSubnetPrefix: appsSubnetPrefix
    postgresSubnetPrefix: postgresSubnetPrefix
    endpointsSubnetPrefix: endpointsSubnetPrefix
  }
}

module storage 'modules/storage.bicep' = {
  name: '${name}-storage'
  params: {
    accountName: take('${name}lake${suffix}', 24)
    location: location
    tags: tags
    sku: storageSku
    principalId: identity.outputs.principalId
    privateNetwork: privateNetwork
    privateEndpointSubnetId: privateNetwork ? network.outputs.privateEndpointSubnetId : ''
    privateDnsZoneIds: privateNetwork ? network.outputs.dnsZoneIds : {}
    logAnalyticsId: monitoring.outputs.workspaceId
  }
}

module eventHubs 'modules/eventhubs.bicep' = {
  name: '${name}-eventhubs'
  params: {
    namespaceName: '${name}-events-${suffix}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    privateNetwork: privateNetwork
    privateEndpointSubnetId: privateNetwork ? network.outputs.privateEndpointSubnetId : ''
    privateDnsZoneId: privateNetwork ? network.outputs.dnsZoneIds.servicebus : ''
  }
}

module postgres 'modules/postgres.bicep' = {
  name: '${name}-postgres'
  params: {
    serverName: '${name}-pg-${suffix}'
    location: location
    tags: tags
    adminLogin: postgresAdminLogin
    adminPassword: postgresAdminPassword
    sku: postgresSku
    tier: postgresTier
    highAvailability: postgresHighAvailability
    geoRedundantBackup: postgresGeoRedundantBackup
    privateNetwork: privateNetwork
    delegatedSubnetId: privateNetwork ? network.outputs.postgresSubnetId : ''
    privateDnsZoneId: privateNetwork ? network.outputs.dnsZoneIds.postgres : ''
  }
}

module redis 'modules/redis.bicep' = {
  name: '${name}-redis'
  params: {
    cacheName: '${name}-redis-${suffix}'
    location: location
    tags: tags
    sku: redisSku
    capacity: redisCapacity
    privateNetwork: privateNetwork
    privateEndpointSubnetId: privateNetwork ? network.outputs.privateEndpointSubnetId : ''
    privateDnsZoneId: privateNetwork ? network.outputs.dnsZoneIds.redis : ''
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: '${name}-keyvault'
  params: {
    vaultName: take('${name}-kv-${suffix}', 24)
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    privateNetwork: privateNetwork
    privateEndpointSubnetId: privateNetwork ? network.outputs.privateEndpointSubnetId : ''
    privateDnsZoneId: privateNetwork ? network.outputs.dnsZoneIds.vault : ''
    logAnalyticsId: monitoring.outputs.workspaceId
    postgresHost: postgres.outputs.host
    postgresAdminLogin: postgresAdminLogin
    postgresAdminPassword: postgresAdminPassword
    redisName: redis.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    catalogSecretKey: catalogSecretKey
  }
}

module acrPull 'modules/acr-pull.bicep' = {
  name: '${name}-acr-pull'
  params: { registryName: registryName, principalId: identity.outputs.principalId }
}

module apps 'modules/containerapps.bicep' = {
  name: '${name}-apps'
  dependsOn: [ acrPull ]
  params: {
    name: name
    location: location
    tags: tags
    image: image
    registryServer: '${registryName}.azurecr.io'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    logAnalyticsName: monitoring.outputs.workspaceName
    infrastructureSubnetId: privateNetwork ? network.outputs.appsSubnetId : ''
    secretUris: keyVault.outputs.secretUris
    vaultUri: keyVault.outputs.vaultUri
    lakeAccountName: storage.outputs.accountName
    eventHubsNamespaceHost: eventHubs.outputs.namespaceHost
    eventHubName: eventHubs.outputs.hubName
    redisHost: redis.outputs.host
    redisPort: redis.outputs.sslPort
    apiMinReplicas: apiMinReplicas
    apiMaxReplicas: apiMaxReplicas
    workerMinReplicas: workerMinReplicas
    workerMaxReplicas: workerMaxReplicas
    workerQueueLengthPerReplica: workerQueueLengthPerReplica
    shutdownTimeoutSeconds: shutdownTimeoutSeconds
    workerMetricsPort: workerMetricsPort
    metricsCollectorImage: metricsCollectorImage
  }
}

output apiUrl string = apps.outputs.apiUrl
output migrationJobName string = apps.outputs.migrationJobName
output identityClientId string = identity.outputs.clientId
output keyVaultUri string = keyVault.outputs.vaultUri
output applicationInsightsName string = monitoring.outputs.applicationInsightsName
