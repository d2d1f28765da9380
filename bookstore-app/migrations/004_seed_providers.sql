-- delivery providers, with their coverage and cost
INSERT INTO orders_providers (id, name, coverage, cost_cents) VALUES
    (1, 'DHL', 'International, 3-5 business days', 2500),
    (2, 'FedEx', 'International and national, 2-4 business days', 2200),
    (3, 'Envia', 'National (Colombia), 1-3 business days', 900),
    (4, 'Servientrega', 'National (Colombia), 2-5 business days', 700)
ON DUPLICATE KEY UPDATE name = VALUES(name), coverage = VALUES(coverage), cost_cents = VALUES(cost_cents);
