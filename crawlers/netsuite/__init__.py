"""NetSuite through SuiteTalk REST: configuration, authentication, HTTP, metadata and SuiteQL helpers.

The connector class itself lives in `crawlers.connectors.netsuite` (the registry's `netsuite` kind); this package
holds the parts it is built from, one small module each:

- `config`   : `NetsuiteConfig`, the validated registration;
- `auth`     : OAuth 1.0a token-based authentication (oauthlib) and OAuth 2.0 client credentials (JWT assertion);
- `http`     : one HTTP session with retries (tenacity), token refresh and NetSuite error mapping;
- `metadata` : the metadata catalog's JSON Schema turned into `TableSnapshot`s;
- `suiteql`  : SuiteQL statements built from validated parts, paging, and conversion to Arrow.
"""
