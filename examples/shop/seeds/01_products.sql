-- A few products to look at after the first `devenv up`. Safe to run again
-- (`devenv seed --reseed`): rows that exist are left alone.
INSERT INTO products (sku, name, price_cents) VALUES
    ('MUG-01', 'Enamel mug', 1200),
    ('TEE-02', 'Organic cotton tee', 2400),
    ('BAG-03', 'Canvas tote bag', 1800)
ON CONFLICT (sku) DO NOTHING;
