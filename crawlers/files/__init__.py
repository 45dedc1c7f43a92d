"""The files connector's parts: where a source lives, how its files group into tables, how a file's schema is read.

`crawlers.connectors.files` composes them; each module here works on plain values and an fsspec filesystem, so the
same code serves a local folder and an Azure Blob Storage / ADLS Gen2 container.
"""
