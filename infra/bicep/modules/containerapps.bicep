// The Container Apps environment and the catalog's roles, all from one image and all as the managed identity:
// api (`catalog serve`, ingress and probes), worker (`catalog worker`, scaled by KEDA on the Redis queue lengths),
// scheduler (`catalog scheduler`, one replica) and the migration job (`catalog db upgrade`).
param name string
param location string
param tags object
param image string
param registryServer string
param identityId string
param identityClientId string
param logAnalyticsName string
param infrastructureSubnetId string
param secretUris object
param vaultUri string
param lakeAccountName string
param eventHubsNamespaceHost string
param eventHubName string
param redisHost string
param redisPort int
param apiMinReplicas int
param apiMaxReplicas int
param workerMinReplicas int
param workerMaxReplicas int
param workerQueueLengthPerReplica int

// dramatiq's Redis broker keeps each queue's waiting messages in the list `dramatiq:<queue>`
// (catalog_api.bootstrap.JOB_KINDS names the queues).
var queues = [ 'crawl', 'extract', 'profile', 'default' ]

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsName
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-apps'
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    vnetConfiguration: empty(infrastructureSubnetId) ? null : {
      infrastructureSubnetId: infrastructureSubnetId
      internal: true
    }
    zoneRedundant: !empty(infrastructureSubnetId)
    workloadProfiles: [ { name: 'Consumption', workloadProfileType: 'Consumption' } ]
  }
}

// Secrets are Key Vault references read as the identity: no secret value is stored in the apps.
var secrets = [
  { name: 'database-url', keyVaultUrl: secretUris.databaseUrl, identity: identityId }
  { name: 'broker-url', keyVaultUrl: secretUris.brokerUrl, identity: identityId }
  { name: 'redis-password', keyVaultUrl: secretUris.redisPassword, identity: identityId }
  { name: 'secret-key', keyVaultUrl: secretUris.secretKey, identity: identityId }
  { name: 'appinsights-connection-string', keyVaultUrl: secretUris.applicationInsights, identity: identityId }
]

// Every variable is a catalog setting (catalog_api/settings.py) or read by azure-identity (AZURE_CLIENT_ID picks
// the user-assigned identity, AZURE_TOKEN_CREDENTIALS keeps DefaultAzureCredential to managed identity only) or by
// the traces' exporter (APPLICATIONINSIGHTS_CONNECTION_STRING: catalog_api/observability/tracing.py);
// tests/deploy/test_bicep.py checks it.
var env = [
  { name: 'CATALOG_DATABASE_URL', secretRef: 'database-url' }
  { name: 'CATALOG_BROKER_URL', secretRef: 'broker-url' }
  { name: 'CATALOG_SECRET_KEY', secretRef: 'secret-key' }
  { name: 'CATALOG_AUTH', value: 'required' }
  { name: 'CATALOG_AUTO_MIGRATE', value: 'false' }
  { name: 'CATALOG_KEYVAULT_URL', value: vaultUri }
  { name: 'CATALOG_LAKE_URL', value: 'abfs://lake' }
  { name: 'CATALOG_LAKE_STORAGE_OPTIONS', value: '{"account_name": "${lakeAccountName}"}' }
  { name: 'CATALOG_EVENTHUB_NAMESPACE', value: eventHubsNamespaceHost }
  { name: 'CATALOG_EVENTHUB_NAME', value: eventHubName }
  { name: 'CATALOG_EVENTS_JSONL_ENABLED', value: 'false' }
  { name: 'CATALOG_EVENTS_FANOUT', value: 'redis' }
  { name: 'CATALOG_EVENTS_FANOUT_REDIS_URL', secretRef: 'broker-url' }
  { name: 'CATALOG_RATE_LIMIT_REDIS_URL', secretRef: 'broker-url' }
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  { name: 'AZURE_TOKEN_CREDENTIALS', value: 'ManagedIdentityCredential' }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', secretRef: 'appinsights-connection-string' }
]

var identity = { type: 'UserAssigned', userAssignedIdentities: { '${identityId}': {} } }
var registries = [ { server: registryServer, identity: identityId } ]
// The image writes only under /data; an EmptyDir volume per replica holds temporary files and Spark's scratch.
var volumes = [ { name: 'data', storageType: 'EmptyDir' } ]
var volumeMounts = [ { volumeName: 'data', mountPath: '/data' } ]

resource api 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${name}-api'
  location: location
  tags: tags
  identity: identity
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: { external: true, targetPort: 8000, transport: 'auto', allowInsecure: false }
      registries: registries
      secrets: secrets
    }
    template: {
      containers: [
        {
          name: 'api'
          image: image
          args: [ 'serve' ]
          env: env
          resources: { cpu: json('1.0'), memory: '2Gi' }
          volumeMounts: volumeMounts
          probes: [
            { type: 'Startup', httpGet: { path: '/healthz', port: 8000 }, periodSeconds: 5, failureThreshold: 24 }
            { type: 'Liveness', httpGet: { path: '/healthz', port: 8000 }, periodSeconds: 15, failureThreshold: 3 }
            // Not ready until the migration job has run and the database and broker answer: a new revision takes
            // traffic only then.
            { type: 'Readiness', httpGet: { path: '/readyz', port: 8000 }, periodSeconds: 10, failureThreshold: 3 }
          ]
        }
      ]
      scale: {
        minReplicas: apiMinReplicas
        maxReplicas: apiMaxReplicas
        rules: [ { name: 'http', http: { metadata: { concurrentRequests: '50' } } } ]
      }
      volumes: volumes
    }
  }
}

resource worker 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${name}-worker'
  location: location
  tags: tags
  identity: identity
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      registries: registries
      secrets: secrets
    }
    template: {
      containers: [
        {
          name: 'worker'
          image: image
          args: [ 'worker' ]
          env: env
          resources: { cpu: json('2.0'), memory: '4Gi' }
          volumeMounts: volumeMounts
        }
      ]
      scale: {
        minReplicas: workerMinReplicas
        maxReplicas: workerMaxReplicas
        rules: [for queue in queues: {
          name: 'queue-${queue}'
          custom: {
            type: 'redis'
            metadata: {
              address: '${redisHost}:${redisPort}'
              enableTLS: 'true'
              listName: 'dramatiq:${queue}'
              listLength: string(workerQueueLengthPerReplica)
            }
            auth: [ { secretRef: 'redis-password', triggerParameter: 'password' } ]
          }
        }]
      }
      volumes: volumes
    }
  }
}

resource scheduler 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${name}-scheduler'
  location: location
  tags: tags
  identity: identity
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      registries: registries
      secrets: secrets
    }
    template: {
      containers: [
        {
          name: 'scheduler'
          image: image
          args: [ 'scheduler' ]
          env: env
          resources: { cpu: json('0.25'), memory: '0.5Gi' }
          volumeMounts: volumeMounts
        }
      ]
      scale: { minReplicas: 1, maxReplicas: 1 }
      volumes: volumes
    }
  }
}

resource migrate 'Microsoft.App/jobs@2024-03-01' = {
  name: '${name}-migrate'
  location: location
  tags: tags
  identity: identity
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      triggerType: 'Manual'
      replicaTimeout: 1800
      replicaRetryLimit: 1
      manualTriggerConfig: { parallelism: 1, replicaCompletionCount: 1 }
      registries: registries
      secrets: secrets
    }
    template: {
      containers: [
        {
          name: 'migrate'
          image: image
          args: [ 'db', 'upgrade' ]
          env: env
          resources: { cpu: json('0.5'), memory: '1Gi' }
          volumeMounts: volumeMounts
        }
      ]
      volumes: volumes
    }
  }
}

output apiUrl string = 'https://${api.properties.configuration.ingress.fqdn}'
output migrationJobName string = migrate.name
