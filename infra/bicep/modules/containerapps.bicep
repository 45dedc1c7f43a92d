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
@description('CATALOG_SHUTDOWN_TIMEOUT_S of every app: after SIGTERM, the catalog hands its jobs back and exits within it.')
param shutdownTimeoutSeconds int
@description('CATALOG_WORKER_METRICS_PORT of the worker: the port its Prometheus exposition listens on inside the replica.')
param workerMetricsPort int
@description('Image of the OpenTelemetry Collector (contrib distribution) that sends the worker\'s metrics on.')
param metricsCollectorImage string

// How long Container Apps waits after SIGTERM before it kills a replica (its default, 30 s, is what the catalog's
// 25 s used to rely on). The catalog's own bound plus a margin for the process to end after it (a Spark JVM going
// down, tini reaping), so even a stop that overruns ends by the catalog's choice (logged, status 1), never by
// SIGKILL in the middle of handing jobs back. tests/deploy/test_bicep.py checks grace > timeout for every app.
var shutdownMarginSeconds = 10
var terminationGracePeriodSeconds = shutdownTimeoutSeconds + shutdownMarginSeconds

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

// Every variable is a catalog setting (catalog_api/settings/) or read by azure-identity (AZURE_CLIENT_ID picks
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
  { name: 'CATALOG_SHUTDOWN_TIMEOUT_S', value: string(shutdownTimeoutSeconds) }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', secretRef: 'appinsights-connection-string' }
]
// The worker also serves its processes' metrics, on a port inside its replica that only the collector beside it
// reads (docs/deploy-azure.md#worker-metrics: Container Apps scrapes nothing by itself).
var workerMetricsPortVariable = { name: 'CATALOG_WORKER_METRICS_PORT', value: string(workerMetricsPort) }
var workerEnv = concat(env, [ workerMetricsPortVariable ])
// The collector reads its configuration from a variable (`--config=env:`): Container Apps has no config files.
// The Application Insights connection string is the same Key Vault reference the catalog's containers use.
var metricsCollector = {
  name: 'metrics'
  image: metricsCollectorImage
  args: [ '--config=env:OTELCOL_CONFIG' ]
  env: [
    { name: 'OTELCOL_CONFIG', value: loadTextContent('worker-metrics-collector.yaml') }
    workerMetricsPortVariable
    { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', secretRef: 'appinsights-connection-string' }
  ]
  resources: { cpu: json('0.25'), memory: '0.5Gi' }
}

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
            // Its timeout exceeds CATALOG_BROKER_PROBE_TIMEOUT_S (2 s), so a hung broker reads as "not ready" (503)
            // rather than as a probe that timed out.
            {
              type: 'Readiness'
              httpGet: { path: '/readyz', port: 8000 }
              periodSeconds: 10
              failureThreshold: 3
              timeoutSeconds: 5
            }
          ]
        }
      ]
      scale: {
        minReplicas: apiMinReplicas
        maxReplicas: apiMaxReplicas
        rules: [ { name: 'http', http: { metadata: { concurrentRequests: '50' } } } ]
      }
      volumes: volumes
      terminationGracePeriodSeconds: terminationGracePeriodSeconds
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
          env: workerEnv
          resources: { cpu: json('2.0'), memory: '4Gi' }
          volumeMounts: volumeMounts
        }
        metricsCollector
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
      terminationGracePeriodSeconds: terminationGracePeriodSeconds
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
      terminationGracePeriodSeconds: terminationGracePeriodSeconds
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
