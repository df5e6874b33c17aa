'use strict';
// Customers, in Stripe's shape (the first objects of billing): create, read, list, update
// with metadata merged as Stripe merges it, delete; validation; permissions; events.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem, unique } = require('./helpers');

let s;
let u;
before(async () => {
  s = await startServer();
  u = await s.signup();
});
after(async () => { await s.stop(); });

test('a customer is created, read, listed, updated and deleted in Stripe\'s shape', async () => {
  const email = `${unique('cu')}@example.com`;
  const c = await s.post('/v1/customers', { name: 'Jenny Rosen', email, currency: 'EUR', metadata: { crm: '42' } }, { token: u.token });
  assert.equal(c.status, 201, c.text);
  assert.match(c.body.id, /^cus_/);
  assert.equal(c.body.object, 'customer');
  assert.equal(c.body.currency, 'eur', 'answered lowercase, as Stripe does');
  assert.equal(c.body.balance, 0);
  assert.deepEqual(c.body.metadata, { crm: '42' });
  assert.equal(typeof c.body.created, 'number');
  assert.ok(Math.abs(c.body.created - Date.now() / 1000) < 60, 'created is Unix seconds');
  assert.deepEqual((await s.get(`/v1/customers/${c.body.id}`, { token: u.token })).body, c.body);
  // metadata merges; an empty value removes its key; a field left out keeps its value, null clears it
  const p = await s.patch(`/v1/customers/${c.body.id}`, { metadata: { tier: 'gold', crm: '' }, phone: '+49 30 1234', description: null, balance: -500 }, { token: u.token });
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(p.body.metadata, { tier: 'gold' });
  assert.equal(p.body.name, 'Jenny Rosen');
  assert.equal(p.body.phone, '+49 30 1234');
  assert.equal(p.body.balance, -500, 'negative balance: credit for the next invoice');
  assert.equal((await s.patch(`/v1/customers/${c.body.id}`, { name: null }, { token: u.token })).body.name, null);
  const list = await s.get('/v1/customers?include_total=true', { token: u.token });
  assert.equal(list.body.total, 1);
  assert.equal(list.body.data[0].id, c.body.id);
  const types = (await s.get('/v1/events?type=customer&limit=10', { token: u.token })).body.data.map((e) => e.type);
  assert.deepEqual(types, ['customer.created', 'customer.updated', 'customer.updated']);
  assert.equal((await s.del(`/v1/customers/${c.body.id}`, { token: u.token })).status, 204);
  assertProblem(await s.get(`/v1/customers/${c.body.id}`, { token: u.token }), 404);
});

test('bad customers are refused and write nothing', async () => {
  for (const [body, field] of [
    [{ email: 'not an email' }, 'email'],
    [{ currency: 'EURO' }, 'currency'],
    [{ currency: 'XYZ' }, 'currency'],
    [{ balance: 1.5 }, 'balance'],
    [{ metadata: { k: 5 } }, 'metadata'],
    [{ metadata: { ['x'.repeat(41)]: 'v' } }, 'metadata'],
    [{ metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
    [{ nickname: 'unknown field' }, 'nickname'],
  ]) {
    const p = assertProblem(await s.post('/v1/customers', body, { token: u.token }), 422);
    assert.equal(p.errors[0].field, field, JSON.stringify(body));
  }
  assertProblem(await s.get('/v1/customers/cus_nope', { token: u.token }), 404);
  assert.equal((await s.get('/v1/customers?include_total=true', { token: u.token })).body.total, 0);
});

test('viewers read customers; only billing managers change them', async () => {
  const viewer = (await s.post('/v1/api-keys', { name: 'v', role: 'viewer' }, { token: u.token })).body.key;
  const editor = (await s.post('/v1/api-keys', { name: 'e', role: 'editor' }, { token: u.token })).body.key;
  assert.equal((await s.get('/v1/customers', { token: viewer })).status, 200);
  assertProblem(await s.post('/v1/customers', { name: 'X' }, { token: viewer }), 403);
  assertProblem(await s.post('/v1/customers', { name: 'X' }, { token: editor }), 403);
});
