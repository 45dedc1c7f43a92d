"""The demo ERP database: a realistic SQLite source (customers, items, sales orders, invoices, payments, purchases
and views over them) to crawl and profile without connecting anything.

The DDL lives in `erp_schema.sql`; `builder.build_demo_database` creates the file and fills it with deterministic
pseudo-random data.
"""

from catalog_api.demo.builder import build_demo_database

__all__ = ["build_demo_database"]
