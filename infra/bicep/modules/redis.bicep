// Azure Cache for Redis: the dramatiq broker (CATALOG_BROKER_URL) and the live-feed fan-out. TLS only.
param cacheName string
param location string
param tags object
param sku string
param capacity int
param privateNetwork bool
param privateEndpointSubnetId string
param privateDnsZoneId string

resource cache 'Microsoft.Cache/redis@2024-03-01' = {
  // checkov:skip=CKV_AZURE_89: public access is the default mode's (dev); privateNetwork=true (prod parameters) turns it off
  name: cacheName
  location: location
  tags: tags
  properties: {
    sku: { name: sku, family: sku == 'Premium' ? 'P' : 'C', capacity: capacity }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'
    redisConfiguration: { 'maxmemory-policy': 'noeviction' }
  }
}

module endpoint 'private-endpoint.bicep' = if (privateNetwork) {
  name: '${cacheName}-endpoint'
  params: {
    name: '${cacheName}-cache'
    location: location
    tags: tags
    serviceId: cache.id
    groupId: 'redisCache'
    subnetId: privateEndpointSubnetId
    privateDnsZoneId: privateDnsZoneId
  }
}

output name string = cache.name
output host string = cache.properties.hostName
output sslPort int = cache.properties.sslPort
