'use strict';
// Acknowledged writes survive kill -9; concurrent writers on several workers all succeed.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, operator } = require('./helpers');

test('an acknowledged signup survives kill -9 of the server', async () => {
  const s = await startServer();
  const u = await s.signup();
  const k = await s.apiKey(u.token, 'viewer');
  await s.kill9();
  const again = await startServer({ dataDir: s.dataDir });
  try {
    const login = await again.post('/v1/auth/login', { email: u.email, password: u.password });
    assert.equal(login.status, 200, login.text);
    assert.equal((await again.get('/v1/me', { token: k.key })).status, 200);
    // the signing key survived too: the old access token is still valid
    assert.equal((await again.get('/v1/me', { token: u.token })).status, 200);
  } finally {
    await again.stop();
  }
});

test('20 concurrent signups and 20 concurrent key creations all succeed', async () => {
  const s = await startServer();
  try {
    const users = await Promise.all(Array.from({ length: 20 }, () => s.signup()));
    assert.equal(new Set(users.map((u) => u.tenant.id)).size, 20);
    const owner = users[0];
    const op = await operator(s);
    assert.equal((await s.patch(`/v1/admin/tenants/${owner.tenant.id}`, { plan: 'enterprise' }, { token: op.token })).status, 200);
    const keys = await Promise.all(Array.from({ length: 20 }, (_, i) => s.post('/v1/api-keys', { name: `k${i}`, role: 'viewer' }, { token: owner.token })));
    assert.ok(keys.every((r) => r.status === 201), keys.map((r) => r.status).join(','));
    const list = await s.get('/v1/api-keys?include_total=true&limit=200', { token: owner.token });
    assert.equal(list.body.total, 20);
  } finally {
    await s.stop();
  }
});
