-- The demo ERP database: customers buy items through sales orders, get invoiced and pay; vendors supply items
-- through purchase orders. It exercises what the catalog shows: primary, composite and foreign keys (one of them
-- composite, one self-referencing, one without named parent columns), unique constraints, CHECK constraints,
-- defaults, a generated column, partial and expression indexes, a WITHOUT ROWID table and views with joins and
-- aggregates.
--
-- Conventions: amounts are NUMERIC(12,2) in the document's currency; dates are TEXT 'YYYY-MM-DD' and timestamps
-- TEXT 'YYYY-MM-DDTHH:MM:SSZ' (ISO-8601, UTC); statuses are lower-case words checked against a fixed list.

CREATE TABLE item_categories (
    id          INTEGER PRIMARY KEY,
    parent_id   INTEGER REFERENCES item_categories (id) ON DELETE RESTRICT,
    code        TEXT NOT NULL CONSTRAINT uq_item_categories_code UNIQUE,
    name        TEXT NOT NULL,
    CHECK (parent_id IS NULL OR parent_id <> id)
);

CREATE TABLE customers (
    id                  INTEGER PRIMARY KEY,
    customer_number     TEXT NOT NULL CONSTRAINT uq_customers_number UNIQUE,
    name                TEXT NOT NULL,
    email               TEXT NOT NULL CONSTRAINT uq_customers_email UNIQUE CHECK (email LIKE '%_@_%._%'),
    phone               TEXT,
    country             CHAR(2) NOT NULL CHECK (length(country) = 2 AND country = upper(country)),
    currency            CHAR(3) NOT NULL DEFAULT 'EUR' CHECK (length(currency) = 3),
    segment             TEXT NOT NULL DEFAULT 'smb'
                        CHECK (segment IN ('enterprise', 'mid_market', 'smb', 'public_sector')),
    credit_limit        NUMERIC(12,2) NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    payment_terms_days  INTEGER NOT NULL DEFAULT 30 CHECK (payment_terms_days IN (0, 14, 30, 45, 60)),
    is_active           INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX ix_customers_country ON customers (country, segment);
CREATE INDEX ix_customers_email_domain ON customers (lower(substr(email, instr(email, '@') + 1)));

CREATE TABLE vendors (
    id              INTEGER PRIMARY KEY,
    vendor_number   TEXT NOT NULL CONSTRAINT uq_vendors_number UNIQUE,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL CHECK (email LIKE '%_@_%._%'),
    phone           TEXT,
    country         CHAR(2) NOT NULL CHECK (length(country) = 2),
    currency        CHAR(3) NOT NULL DEFAULT 'EUR' CHECK (length(currency) = 3),
    iban            TEXT CHECK (iban IS NULL OR length(iban) BETWEEN 15 AND 34),
    rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE items (
    id                  INTEGER PRIMARY KEY,
    sku                 TEXT NOT NULL CONSTRAINT uq_items_sku UNIQUE,
    name                TEXT NOT NULL,
    description         TEXT,
    category_id         INTEGER NOT NULL REFERENCES item_categories (id),
    preferred_vendor_id INTEGER REFERENCES vendors ON DELETE SET NULL,
    unit_of_measure     TEXT NOT NULL DEFAULT 'pcs'
                        CHECK (unit_of_measure IN ('pcs', 'box', 'kg', 'm', 'h', 'license')),
    list_price          NUMERIC(12,2) NOT NULL CHECK (list_price >= 0),
    standard_cost       NUMERIC(12,2) NOT NULL CHECK (standard_cost >= 0),
    weight_kg           NUMERIC(10,3) CHECK (weight_kg IS NULL OR weight_kg > 0),
    is_active           INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX ix_items_category ON items (category_id);
CREATE INDEX ix_items_vendor ON items (preferred_vendor_id) WHERE preferred_vendor_id IS NOT NULL;

CREATE TABLE sales_orders (
    id                  INTEGER PRIMARY KEY,
    order_number        TEXT NOT NULL CONSTRAINT uq_sales_orders_number UNIQUE,
    customer_id         INTEGER NOT NULL,
    order_date          TEXT NOT NULL CHECK (order_date = date(order_date)),
    requested_ship_date TEXT CHECK (requested_ship_date IS NULL OR requested_ship_date >= order_date),
    status              TEXT NOT NULL DEFAULT 'draft'
                        CHECK (status IN ('draft', 'confirmed', 'shipped', 'delivered', 'cancelled')),
    currency            CHAR(3) NOT NULL CHECK (length(currency) = 3),
    shipping_country    CHAR(2) NOT NULL,
    sales_rep           TEXT,
    notes               TEXT,
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at          TEXT,
    CONSTRAINT fk_sales_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE RESTRICT
);
CREATE INDEX ix_sales_orders_customer ON sales_orders (customer_id, order_date);
CREATE INDEX ix_sales_orders_open ON sales_orders (status, order_date) WHERE status NOT IN ('delivered', 'cancelled');

CREATE TABLE sales_order_lines (
    order_id        INTEGER NOT NULL REFERENCES sales_orders (id) ON DELETE CASCADE,
    line_no         INTEGER NOT NULL CHECK (line_no > 0),
    item_id         INTEGER NOT NULL REFERENCES items (id),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    unit_price      NUMERIC(12,2) NOT NULL CHECK (unit_price >= 0),
    discount_pct    NUMERIC(5,2) NOT NULL DEFAULT 0 CHECK (discount_pct BETWEEN 0 AND 100),
    line_total      NUMERIC(12,2)
                    GENERATED ALWAYS AS (round(quantity * unit_price * (100 - discount_pct) / 100.0, 2)) STORED,
    CONSTRAINT pk_sales_order_lines PRIMARY KEY (order_id, line_no),
    CONSTRAINT uq_sales_order_lines_item UNIQUE (order_id, item_id)
);
CREATE INDEX ix_sales_order_lines_item ON sales_order_lines (item_id);

CREATE TABLE invoices (
    id              INTEGER PRIMARY KEY,
    invoice_number  TEXT NOT NULL CONSTRAINT uq_invoices_number UNIQUE,
    order_id        INTEGER NOT NULL CONSTRAINT uq_invoices_order UNIQUE
                    CONSTRAINT fk_invoices_order REFERENCES sales_orders (id),
    customer_id     INTEGER NOT NULL CONSTRAINT fk_invoices_customer REFERENCES customers (id),
    invoice_date    TEXT NOT NULL CHECK (invoice_date = date(invoice_date)),
    due_date        TEXT NOT NULL,
    currency        CHAR(3) NOT NULL CHECK (length(currency) = 3),
    subtotal        NUMERIC(12,2) NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
    tax_rate        NUMERIC(5,4) NOT NULL DEFAULT 0 CHECK (tax_rate BETWEEN 0 AND 1),
    tax_amount      NUMERIC(12,2) NOT NULL DEFAULT 0 CHECK (tax_amount >= 0),
    total_amount    NUMERIC(12,2) NOT NULL DEFAULT 0 CHECK (total_amount >= 0),
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'partially_paid', 'paid', 'void')),
    CHECK (due_date >= invoice_date)
);
CREATE INDEX ix_invoices_customer ON invoices (customer_id, invoice_date);
CREATE INDEX ix_invoices_unpaid ON invoices (due_date) WHERE status IN ('open', 'partially_paid');

CREATE TABLE invoice_lines (
    invoice_id      INTEGER NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    line_no         INTEGER NOT NULL CHECK (line_no > 0),
    order_id        INTEGER NOT NULL,
    order_line_no   INTEGER NOT NULL,
    item_id         INTEGER NOT NULL REFERENCES items (id),
    description     TEXT NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    unit_price      NUMERIC(12,2) NOT NULL CHECK (unit_price >= 0),
    discount_pct    NUMERIC(5,2) NOT NULL DEFAULT 0 CHECK (discount_pct BETWEEN 0 AND 100),
    line_total      NUMERIC(12,2) NOT NULL,
    PRIMARY KEY (invoice_id, line_no),
    CONSTRAINT fk_invoice_lines_order_line FOREIGN KEY (order_id, order_line_no)
        REFERENCES sales_order_lines (order_id, line_no)
);
CREATE INDEX ix_invoice_lines_order_line ON invoice_lines (order_id, order_line_no);

CREATE TABLE payments (
    id                  INTEGER PRIMARY KEY,
    payment_reference   TEXT NOT NULL CONSTRAINT uq_payments_reference UNIQUE,
    invoice_id          INTEGER NOT NULL REFERENCES invoices (id),
    customer_id         INTEGER NOT NULL REFERENCES customers (id),
    payment_date        TEXT NOT NULL CHECK (payment_date = date(payment_date)),
    amount              NUMERIC(12,2) NOT NULL CHECK (amount > 0),
    currency            CHAR(3) NOT NULL CHECK (length(currency) = 3),
    method              TEXT NOT NULL DEFAULT 'bank_transfer'
                        CHECK (method IN ('bank_transfer', 'card', 'direct_debit', 'cheque')),
    received_at         TEXT NOT NULL
);
CREATE INDEX ix_payments_invoice ON payments (invoice_id);
CREATE INDEX ix_payments_customer ON payments (customer_id, payment_date);

CREATE TABLE purchase_orders (
    id              INTEGER PRIMARY KEY,
    po_number       TEXT NOT NULL CONSTRAINT uq_purchase_orders_number UNIQUE,
    vendor_id       INTEGER NOT NULL REFERENCES vendors (id),
    order_date      TEXT NOT NULL CHECK (order_date = date(order_date)),
    expected_date   TEXT,
    status          TEXT NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'sent', 'received', 'closed', 'cancelled')),
    currency        CHAR(3) NOT NULL CHECK (length(currency) = 3),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    CHECK (expected_date IS NULL OR expected_date >= order_date)
);
CREATE INDEX ix_purchase_orders_vendor ON purchase_orders (vendor_id, order_date);

-- Clustered on its key: lines are always read by purchase order.
CREATE TABLE purchase_order_lines (
    po_id       INTEGER NOT NULL REFERENCES purchase_orders (id) ON DELETE CASCADE,
    line_no     INTEGER NOT NULL CHECK (line_no > 0),
    item_id     INTEGER NOT NULL REFERENCES items (id),
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_cost   NUMERIC(12,2) NOT NULL CHECK (unit_cost >= 0),
    PRIMARY KEY (po_id, line_no)
) WITHOUT ROWID;

-- Views. Amounts are never summed across currencies.

CREATE VIEW sales_order_totals AS
SELECT o.id                                     AS order_id,
       o.order_number,
       o.customer_id,
       o.order_date,
       o.status,
       o.currency,
       count(l.line_no)                         AS line_count,
       round(coalesce(sum(l.line_total), 0), 2) AS order_total
FROM sales_orders AS o
LEFT JOIN sales_order_lines AS l ON l.order_id = o.id
GROUP BY o.id;

CREATE VIEW customer_balances AS
SELECT c.id                                                    AS customer_id,
       c.customer_number,
       c.name,
       c.currency,
       round(coalesce(i.invoiced, 0), 2)                       AS invoiced,
       round(coalesce(p.paid, 0), 2)                           AS paid,
       round(coalesce(i.invoiced, 0) - coalesce(p.paid, 0), 2) AS balance,
       coalesce(i.open_invoices, 0)                            AS open_invoices
FROM customers AS c
LEFT JOIN (
    SELECT customer_id,
           sum(total_amount)                             AS invoiced,
           sum(status IN ('open', 'partially_paid'))     AS open_invoices
    FROM invoices
    WHERE status <> 'void'
    GROUP BY customer_id
) AS i ON i.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, sum(amount) AS paid FROM payments GROUP BY customer_id
) AS p ON p.customer_id = c.id;

CREATE VIEW open_invoices AS
SELECT inv.id                                                    AS invoice_id,
       inv.invoice_number,
       inv.customer_id,
       c.name                                                    AS customer_name,
       inv.invoice_date,
       inv.due_date,
       inv.currency,
       inv.total_amount,
       round(coalesce(sum(p.amount), 0), 2)                      AS paid_amount,
       round(inv.total_amount - coalesce(sum(p.amount), 0), 2)   AS amount_due,
       max(0, CAST(julianday('now') - julianday(inv.due_date) AS INTEGER)) AS days_overdue
FROM invoices AS inv
JOIN customers AS c ON c.id = inv.customer_id
LEFT JOIN payments AS p ON p.invoice_id = inv.id
WHERE inv.status IN ('open', 'partially_paid')
GROUP BY inv.id;

CREATE VIEW monthly_revenue AS
SELECT strftime('%Y-%m', invoice_date) AS month,
       currency,
       count(*)                        AS invoice_count,
       round(sum(subtotal), 2)         AS net_revenue,
       round(sum(tax_amount), 2)       AS tax,
       round(sum(total_amount), 2)     AS gross_revenue
FROM invoices
WHERE status <> 'void'
GROUP BY strftime('%Y-%m', invoice_date), currency;

CREATE VIEW vendor_spend AS
SELECT v.id                                        AS vendor_id,
       v.name                                      AS vendor_name,
       po.currency,
       count(DISTINCT po.id)                       AS purchase_orders,
       sum(pl.quantity)                            AS units,
       round(sum(pl.quantity * pl.unit_cost), 2)   AS spend
FROM vendors AS v
JOIN purchase_orders AS po ON po.vendor_id = v.id AND po.status <> 'cancelled'
JOIN purchase_order_lines AS pl ON pl.po_id = po.id
GROUP BY v.id, po.currency;
