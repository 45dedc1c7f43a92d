"""CloudEvents envelope and publishers (a library: never imports catalog_api).

Its capability lands with the change-events issue; the package exists so the layout matches the architecture.
"""
