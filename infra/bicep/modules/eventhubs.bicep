// Event Hubs: the catalog publishes change events to `catalog-events` (Azure Event Hubs Data Sender, no keys);
// subscribers read through the `subscribers` consumer group.
param namespaceName string
param location string
param tags object
param principalId string
param privateNetwork bool
param privateEndpointSubnetId string
param privateDnsZoneId string

var dataSender = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '2b629674-e913-4c01-ae53-ef4638d8f975')

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard', capacity: 1 }
  properties: {
    minimumTlsVersion: '1.2'
    disableLocalAuth: true
    publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: 'catalog-events'
  properties: { partitionCount: 4, messageRetentionInDays: 7 }
}

resource subscribers 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: 'subscribers'
}

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hub.id, principalId, dataSender)
  scope: hub
  properties: { roleDefinitionId: dataSender, principalId: principalId, principalType: 'ServicePrincipal' }
}

module endpoint 'private-endpoint.bicep' = if (privateNetwork) {
  name: '${namespaceName}-endpoint'
  params: {
    name: '${namespaceName}-namespace'
    location: location
    tags: tags
    serviceId: namespace.id
    groupId: 'namespace'
    subnetId: privateEndpointSubnetId
    privateDnsZoneId: privateDnsZoneId
  }
}

output namespaceHost string = '${namespace.name}.servicebus.windows.net'
output hubName string = hub.name
