-- The deliveries in flight (leased) by endpoint: an endpoint gets one delivery at a time, on
-- any node, so that it receives a tenant's events in their order (webhooks/delivery.c).
CREATE INDEX webhook_deliveries_in_flight ON webhook_deliveries (endpoint_id) WHERE lease_until IS NOT NULL;
