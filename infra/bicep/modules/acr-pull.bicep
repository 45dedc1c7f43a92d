// AcrPull on the registry that holds the catalog image: the apps pull it as the managed identity, no admin user.
param registryName string
param principalId string

var acrPull = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, principalId, acrPull)
  scope: registry
  properties: { roleDefinitionId: acrPull, principalId: principalId, principalType: 'ServicePrincipal' }
}
