"""GraphQL API (strawberry) at /graphql: thin resolvers over catalog_api.services, batched by DataLoaders."""
