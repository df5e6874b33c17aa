'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem, operator, unique } = require('./helpers');

let s;
let op;
before(async () => { s = await startServer(); op = await operator(s); });
after(async () => { await s.stop(); });

test('an organization reads and changes its settings; invalid settings are refused field by field', async () => {
  const O = await s.signup();
  const t = await s.get('/v1/tenant', { token: O.token });
  assert.equal(t.status, 200);
  assert.deepEqual(t.body.settings, { timezone: 'UTC', currency: 'USD', locale: 'en', branding: {}, domain: null });
  const p = await s.patch('/v1/tenant', {
    name: 'Renamed Co',
    settings: { timezone: 'Europe/Berlin', currency: 'EUR', locale: 'de-DE', branding: { primary_color: '#112233', logo_url: 'https://cdn.example.com/l.png' } },
  }, { token: O.token });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.name, 'Renamed Co');
  assert.equal(p.body.settings.timezone, 'Europe/Berlin');
  assert.equal(p.body.settings.branding.primary_color, '#112233');
  // a partial change merges
  const p2 = await s.patch('/v1/tenant', { settings: { branding: { accent_color: '#abcdef' } } }, { token: O.token });
  assert.equal(p2.body.settings.branding.primary_color, '#112233');
  assert.equal(p2.body.settings.branding.accent_color, '#abcdef');
  assert.equal(p2.body.settings.currency, 'EUR');
  const bad = await s.patch('/v1/tenant', {
    settings: { timezone: 'Mars/Olympus', currency: 'XXQ', locale: 'english!', branding: { primary_color: 'red' }, domain: 'not a host' },
  }, { token: O.token });
  const prob = assertProblem(bad, 422, 'validation_failed');
  assert.deepEqual(prob.errors.map((e) => e.field).sort(), ['settings.branding.primary_color', 'settings.currency', 'settings.domain', 'settings.locale', 'settings.timezone']);
  assert.equal((await s.get('/v1/tenant', { token: O.token })).body.settings.timezone, 'Europe/Berlin');
  assertProblem(await s.patch('/v1/tenant', { settings: { theme: 'dark' } }, { token: O.token }), 422, 'validation_failed');
});

test('operators list, create and inspect organizations; others may not', async () => {
  const O = await s.signup();
  assertProblem(await s.get('/v1/admin/tenants', { token: O.token }), 403, 'forbidden');
  const me = await s.get('/v1/me', { token: op.token });
  assert.ok(me.body.permissions.includes('platform:tenants:manage'));
  const c = await s.post('/v1/admin/tenants', { name: 'Enterprise One', slug: `ent-${unique('x').toLowerCase()}`, owner_email: O.email }, { token: op.token });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.body.owner.id, O.user.id);
  const g = await s.get(`/v1/admin/tenants/${c.body.id}`, { token: op.token });
  assert.equal(g.body.stats.users, 1);
  const dup = await s.post('/v1/admin/tenants', { name: 'Again', slug: c.body.slug }, { token: op.token });
  assertProblem(dup, 409, 'slug_taken');
  const list = await s.get('/v1/admin/tenants?include_total=true&limit=200', { token: op.token });
  assert.ok(list.body.data.some((t) => t.id === O.tenant.id));
  assert.ok(list.body.total >= 3);
  assertProblem(await s.get('/v1/admin/tenants/ten_00000000000000000000000000', { token: op.token }), 404);
  assertProblem(await s.get('/v1/admin/tenants/not-an-id', { token: op.token }), 404);
});

test('a suspended organization gets 403 tenant_suspended, keeps its data, and comes back', async () => {
  const O = await s.signup();
  const key = await s.apiKey(O.token, 'admin');
  const sus = await s.post(`/v1/admin/tenants/${O.tenant.id}/suspend`, { reason: 'unpaid invoices' }, { token: op.token });
  assert.equal(sus.status, 200, sus.text);
  assert.equal(sus.body.status, 'suspended');
  assert.equal(sus.body.suspended_reason, 'unpaid invoices');
  assertProblem(await s.get('/v1/tenant', { token: O.token }), 403, 'tenant_suspended');
  assertProblem(await s.get('/v1/api-keys', { token: key.key }), 403, 'tenant_suspended');
  const me = await s.get('/v1/me', { token: O.token });
  assert.equal(me.status, 200);
  assert.equal(me.body.tenant.status, 'suspended');
  const filtered = await s.get('/v1/admin/tenants?status=suspended', { token: op.token });
  assert.ok(filtered.body.data.every((t) => t.status === 'suspended'));
  assert.ok(filtered.body.data.some((t) => t.id === O.tenant.id));
  const re = await s.post(`/v1/admin/tenants/${O.tenant.id}/reactivate`, {}, { token: op.token });
  assert.equal(re.body.status, 'active');
  assert.equal((await s.get('/v1/api-keys', { token: key.key })).status, 200);
  assert.equal((await s.get('/v1/tenant', { token: O.token })).body.id, O.tenant.id);
  assertProblem(await s.post(`/v1/admin/tenants/${op.tenant.id}/suspend`, {}, { token: op.token }), 409);
});
