// Private mode: a VNet with a subnet for the Container Apps environment, one delegated to PostgreSQL and one for
// private endpoints, and the private DNS zones that make the services' names resolve to those endpoints.
param name string
param location string
param tags object
param addressPrefix string
param appsSubnetPrefix string
param postgresSubnetPrefix string
param endpointsSubnetPrefix string

var zones = {
  vault: 'privatelink.vaultcore.azure.net'
  blob: 'privatelink.blob.core.windows.net'
  dfs: 'privatelink.dfs.core.windows.net'
  redis: 'privatelink.redis.cache.windows.net'
  servicebus: 'privatelink.servicebus.windows.net'
  // A VNet-injected flexible server takes a zone of its own, not the privatelink one.
  postgres: '${name}.private.postgres.database.azure.com'
}

resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: '${name}-vnet'
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [ addressPrefix ] }
    subnets: [
      {
        name: 'apps'
        properties: {
          addressPrefix: appsSubnetPrefix
          delegations: [ { name: 'apps', properties: { serviceName: 'Microsoft.App/environments' } } ]
        }
      }
      {
        name: 'postgres'
        properties: {
          addressPrefix: postgresSubnetPrefix
          delegations: [ { name: 'postgres', properties: { serviceName: 'Microsoft.DBforPostgreSQL/flexibleServers' } } ]
        }
      }
      {
        name: 'endpoints'
        properties: {
          addressPrefix: endpointsSubnetPrefix
          privateEndpointNetworkPolicies: 'Enabled'
        }
      }
    ]
  }
}

var zoneNames = [ zones.vault, zones.blob, zones.dfs, zones.redis, zones.servicebus, zones.postgres ]

resource dnsZones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for zone in zoneNames: {
  name: zone
  location: 'global'
  tags: tags
}]

resource dnsLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for i in range(0, length(zoneNames)): {
  parent: dnsZones[i]
  name: '${name}-vnet'
  location: 'global'
  properties: { registrationEnabled: false, virtualNetwork: { id: vnet.id } }
}]

output appsSubnetId string = vnet.properties.subnets[0].id
output postgresSubnetId string = vnet.properties.subnets[1].id
output privateEndpointSubnetId string = vnet.properties.subnets[2].id
output dnsZoneIds object = {
  vault: resourceId('Microsoft.Network/privateDnsZones', zones.vault)
  blob: resourceId('Microsoft.Network/privateDnsZones', zones.blob)
  dfs: resourceId('Microsoft.Network/privateDnsZones', zones.dfs)
  redis: resourceId('Microsoft.Network/privateDnsZones', zones.redis)
  servicebus: resourceId('Microsoft.Network/privateDnsZones', zones.servicebus)
  postgres: resourceId('Microsoft.Network/privateDnsZones', zones.postgres)
}
