-- The dispatcher is the events module's own now (webhooks are one of its consumers).
UPDATE dispatch_cursor SET name = 'dispatcher' WHERE name = 'webhooks';
