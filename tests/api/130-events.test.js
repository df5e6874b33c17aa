'use strict';
// Domain events: written with the change in one transaction; none for a failed request.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem, unique, operator } = require('./helpers');

let s;
before(async () => { s = await startServer(); });
after(async () => { await s.stop(); });

test('every announced mutation writes one event, in order, with the resource as data', async () => {
  const u = await s.signup();
  const key = await s.apiKey(u.token, 'admin');
  const t = (await s.post('/v1/membership-types', { name: 'Gold', price: { amount: 100, currency: 'EUR' }, interval: 'month' }, { token: u.token })).body;
  const m = (await s.post('/v1/members', { first_name: 'Eve', last_name: 'Nt', email: `${unique('e')}@example.com`, membership_type_id: t.id }, { token: key.key })).body;
  await s.patch(`/v1/members/${m.id}`, { status: 'inactive' }, { token: u.token });
  await s.del(`/v1/members/${m.id}`, { token: u.token });
  await s.post('/v1/invitations', { email: `${unique('i')}@example.com`, role: 'viewer' }, { token: u.token });
  await s.patch('/v1/tenant', { name: 'Evented' }, { token: u.token });
  await s.del(`/v1/api-keys/${key.id}`, { token: u.token });
  const ev = await s.get('/v1/events?limit=200', { token: u.token });
  assert.equal(ev.status, 200, ev.text);
  assert.deepEqual(ev.body.data.map((e) => e.type), ['tenant.created', 'api_key.created', 'membership_type.created',
    'member.created', 'member.updated', 'member.deleted', 'user.invited', 'tenant.updated', 'api_key.revoked']);
  assert.deepEqual(ev.body.data.map((e) => e.sequence), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const created = ev.body.data.find((e) => e.type === 'member.created');
  assert.match(created.id, /^evt_[0-9a-z]{26}$/);
  assert.equal(created.data.id, m.id);
  assert.equal(created.data.email, m.email);
  assert.equal(ev.body.data.find((e) => e.type === 'tenant.created').data.id, u.tenant.id);
  assert.equal(ev.body.data.find((e) => e.type === 'api_key.created').data.key, '[redacted]');
  assert.ok(!ev.text.includes(key.key));
  const one = await s.get(`/v1/events/${created.id}`, { token: u.token });
  assert.deepEqual(one.body, created);
  // filters and resuming
  const members = await s.get('/v1/events?type=member', { token: u.token });
  assert.equal(members.body.data.length, 3);
  const rest = await s.get(`/v1/events?after=${created.id}`, { token: u.token });
  assert.equal(rest.body.data[0].type, 'member.updated');
  const page = await s.get('/v1/events?limit=4', { token: u.token });
  const next = await s.get(`/v1/events?limit=4&cursor=${encodeURIComponent(page.body.next_cursor)}`, { token: u.token });
  assert.equal(next.body.data[0].sequence, 5);
  assertProblem(await s.get('/v1/events?after=evt_00000000000000000000000000', { token: u.token }), 422);
});

test('a failed request emits no event', async () => {
  const u = await s.signup();
  const before = (await s.get('/v1/events?limit=200', { token: u.token })).body.data.length;
  assertProblem(await s.post('/v1/members', { first_name: 'No' }, { token: u.token }), 422);
  const m = await s.post('/v1/members', { first_name: 'A', last_name: 'B', email: `${unique('x')}@example.com` }, { token: u.token });
  assertProblem(await s.post('/v1/members', { first_name: 'A', last_name: 'B', email: m.body.email }, { token: u.token }), 409);
  assertProblem(await s.post('/v1/members/bulk', { action: 'suspend', ids: [m.body.id, 'mem_00000000000000000000000000'] }, { token: u.token }), 404);
  const after1 = (await s.get('/v1/events?limit=200', { token: u.token })).body.data;
  assert.equal(after1.length, before + 1);
  assert.equal(after1[after1.length - 1].type, 'member.created');
});

test('operator actions announce to the tenant they concern; events are tenant-scoped', async () => {
  const u = await s.signup();
  const other = await s.signup();
  const op = await operator(s);
  await s.post(`/v1/admin/tenants/${u.tenant.id}/suspend`, { reason: 'test' }, { token: op.token });
  await s.post(`/v1/admin/tenants/${u.tenant.id}/reactivate`, {}, { token: op.token });
  const ev = await s.get('/v1/events?type=tenant', { token: u.token });
  assert.deepEqual(ev.body.data.map((e) => e.type), ['tenant.created', 'tenant.suspended', 'tenant.reactivated']);
  const mine = (await s.get('/v1/events', { token: u.token })).body.data[0];
  assertProblem(await s.get(`/v1/events/${mine.id}`, { token: other.token }), 404);
  assert.ok(!(await s.get('/v1/events?limit=200', { token: other.token })).text.includes(u.tenant.id));
});
