// A private endpoint for one sub-resource of a service, registered in its private DNS zone.
param name string
param location string
param tags object
param serviceId string
param groupId string
param subnetId string
param privateDnsZoneId string

resource endpoint 'Microsoft.Network/privateEndpoints@2023-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: { id: subnetId }
    privateLinkServiceConnections: [ { name: name, properties: { privateLinkServiceId: serviceId, groupIds: [ groupId ] } } ]
  }
}

resource dns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = {
  parent: endpoint
  name: 'default'
  properties: { privateDnsZoneConfigs: [ { name: groupId, properties: { privateDnsZoneId: privateDnsZoneId } } ] }
}
