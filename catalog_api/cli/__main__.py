"""`python -m catalog_api.cli`, the same as the `catalog` entry point."""

from catalog_api.cli import main

main()
