'use strict';
// The isolation matrix: with every credential of tenant B, nothing of tenant A can be read or
// changed, on every route. The route list comes from /openapi.json (which is rendered from the
// router), so a new route that is not placed in this matrix fails the test. It runs twice:
// with both tenants in the pool (020-isolation) and with A's data in a cell of its own, moved
// there after it was made (021-isolation-cells).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem, unique } = require('./helpers');

module.exports = function isolationMatrix({ cell = false } = {}) {
let s;
let A;
let B;
before(async () => {
  // exports of more than one member run as jobs, so A has a job (and its notification)
  s = await startServer({ env: { PLINTH_ALLOW_PRIVATE_WEBHOOKS: '1', PLINTH_CSV_JOB_THRESHOLD: '1' } });
  A = await s.signup();
  B = await s.signup();
  A.key = await s.apiKey(A.token, 'admin');
  B.key = await s.apiKey(B.token, 'admin');
  const inv = await s.post('/v1/invitations', { email: `${unique('inv')}@example.com`, role: 'editor' }, { token: A.token });
  assert.equal(inv.status, 201, inv.text);
  A.invitation = inv.body;
  const mt = await s.post('/v1/membership-types', { name: 'A tier', price: { amount: 100, currency: 'EUR' }, interval: 'month' }, { token: A.token });
  A.tier = mt.body;
  const m = await s.post('/v1/members', { first_name: 'Alice', last_name: 'Secret', email: `${unique('am')}@example.com`, membership_type_id: A.tier.id }, { token: A.token });
  assert.equal(m.status, 201, m.text);
  A.member = m.body;
  await s.post(`/v1/members/${A.member.id}/activities`, { type: 'check_in' }, { token: A.token });
  A.event = (await s.get('/v1/events?type=member.created', { token: A.token })).body.data[0];
  A.endpoint = (await s.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', events: ['member.*'] }, { token: A.token })).body;
  A.delivery = { id: 'whd_00000000000000000000000000' };
  await s.post('/v1/members', { first_name: 'Alan', last_name: 'Secret', email: `${unique('am')}@example.com` }, { token: A.token });
  const exp = await s.post('/v1/members/export', undefined, { token: A.token });
  assert.equal(exp.status, 202, exp.text);
  A.job = await s.waitJob(exp.body.id, A.token);
  assert.equal(A.job.state, 'succeeded');
  A.customer = (await s.post('/v1/customers', { name: 'A customer', email: `${unique('ac')}@example.com` }, { token: A.token })).body;
  assert.match(A.customer.id, /^cus_/);
  A.notification = (await s.get('/v1/notifications', { token: A.token })).body.data[0];
  assert.ok(A.notification, 'the export job notified its user');
  if (cell) { // A's data moves to a cell of its own: a schema (PostgreSQL) or a file (SQLite)
    const add = process.env.PLINTH_TEST_PG
      ? s.cli('cell', 'add', 'iso', '--kind', 'schema')
      : s.cli('cell', 'add', 'iso', '--kind', 'database', '--database-url', 'sqlite:iso.db');
    assert.equal(add.status, 0, add.stderr);
    const mv = s.cli('tenant', 'move', A.tenant.id, '--to', 'iso');
    assert.equal(mv.status, 0, mv.stderr);
    await new Promise((r) => setTimeout(r, 1200)); // every cache has the new home
    assert.equal((await s.get('/v1/tenant', { token: A.token })).body.cell, 'iso');
    assert.equal((await s.get(`/v1/members/${A.member.id}`, { token: A.token })).status, 200);
  }
});
after(async () => { await s.stop(); });

// For every path with a parameter: the id of tenant A's resource, and the status B must get.
function foreignTargets() {
  return {
    '/v1/api-keys/{id}': { id: A.key.id, status: 404 },
    '/v1/invitations/{id}': { id: A.invitation.id, status: 404 },
    '/v1/team/{user_id}': { id: A.user.id, status: 404 },
    '/v1/members/{id}': { id: A.member.id, status: 404 },
    '/v1/members/{id}/activities': { id: A.member.id, status: 404 },
    '/v1/membership-types/{id}': { id: A.tier.id, status: 404 },
    '/v1/customers/{id}': { id: A.customer.id, status: 404 },
    '/v1/events/{id}': { id: A.event.id, status: 404 },
    '/v1/events/{id}/replay': { id: A.event.id, status: 404 },
    '/v1/webhook-endpoints/{id}': { id: A.endpoint.id, status: 404 },
    '/v1/webhook-endpoints/{id}/rotate-secret': { id: A.endpoint.id, status: 404 },
    '/v1/webhook-endpoints/{id}/deliveries': { id: A.endpoint.id, status: 404 },
    '/v1/webhook-deliveries/{id}/retry': { id: A.delivery.id, status: 404 },
    '/v1/jobs/{id}': { id: A.job.id, status: 404 },
    '/v1/jobs/{id}/download': { id: A.job.id, status: 404 },
    '/v1/jobs/{id}/retry': { id: A.job.id, status: 404 },
    '/v1/notifications/{id}/read': { id: A.notification.id, status: 404 },
    // operator routes: a tenant credential is not an operator, whatever the id
    '/v1/admin/tenants/{id}': { id: A.tenant.id, status: 403 },
    '/v1/admin/tenants/{id}/suspend': { id: A.tenant.id, status: 403 },
    '/v1/admin/tenants/{id}/reactivate': { id: A.tenant.id, status: 403 },
    '/v1/admin/plans/{id}': { id: 'pln_01jf0000000000000000000004', status: 403 },
    '/v1/admin/feature-flags/{key}': { id: 'sso', status: 403 },
  };
}

// Bodies that would be valid for the route, so that a refusal is about ownership, not input.
const validBodies = {
  'PATCH /v1/webhook-endpoints/{id}': { status: 'disabled' },
  'PATCH /v1/admin/tenants/{id}': { plan: 'enterprise' },
  'PATCH /v1/admin/plans/{id}': { name: 'Free for all' },
  'PATCH /v1/admin/feature-flags/{key}': { rollout_percent: 100 },
  'PATCH /v1/team/{user_id}': { role: 'viewer' },
  'PATCH /v1/members/{id}': { status: 'suspended' },
  'POST /v1/members/{id}/activities': { type: 'check_in' },
  'PATCH /v1/membership-types/{id}': { description: 'stolen' },
  'PATCH /v1/customers/{id}': { balance: -100000 },
  'POST /v1/admin/tenants/{id}/suspend': { reason: 'x' },
  'POST /v1/admin/tenants/{id}/reactivate': {},
};

async function routes() {
  const doc = (await s.get('/openapi.json')).body;
  const out = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) out.push({ path, method: method.toUpperCase(), op });
  }
  return out;
}

test('every route with an id answers 404 (or 403 for operator routes) to each credential of another tenant', async () => {
  const targets = foreignTargets();
  for (const { path, method } of await routes()) {
    if (!path.includes('{')) continue;
    const t = targets[path];
    assert.ok(t, `route ${method} ${path} is not in the isolation matrix: add it to foreignTargets()`);
    const url = path.replace(/\{[^}]+\}/, t.id);
    for (const cred of [B.token, B.key.key]) {
      const body = validBodies[`${method} ${path}`];
      const r = await s.req(method, url, { token: cred, body: method === 'GET' || method === 'DELETE' ? undefined : (body || {}) });
      assertProblem(r, t.status);
    }
  }
  // A's resources are intact and still work
  assert.equal((await s.get('/v1/me', { token: A.key.key })).status, 200);
  assert.equal((await s.get(`/v1/api-keys/${A.key.id}`, { token: A.token })).status, 200);
  const team = await s.get('/v1/team', { token: A.token });
  assert.equal(team.body.data.find((m) => m.user_id === A.user.id).role, 'owner');
  const invs = await s.get('/v1/invitations', { token: A.token });
  assert.equal(invs.body.data.find((i) => i.id === A.invitation.id).status, 'pending');
  const m = await s.get(`/v1/members/${A.member.id}`, { token: A.token });
  assert.equal(m.body.status, 'active');
  assert.equal((await s.get(`/v1/customers/${A.customer.id}`, { token: A.token })).body.balance, 0);
  assert.equal((await s.get(`/v1/members/${A.member.id}/activities?include_total=true`, { token: A.token })).body.total, 1);
  assert.equal((await s.get(`/v1/membership-types/${A.tier.id}`, { token: A.token })).body.description, '');
  assert.equal((await s.get('/v1/tenant', { token: A.token })).body.plan.key, 'starter');
  const ep = await s.get(`/v1/webhook-endpoints/${A.endpoint.id}`, { token: A.token });
  assert.equal(ep.body.status, 'enabled');
  assert.equal((await s.get(`/v1/jobs/${A.job.id}`, { token: A.token })).body.state, 'succeeded');
  assert.equal((await s.get(`/v1/jobs/${A.job.id}/download`, { token: A.token })).status, 200);
  const inbox = (await s.get('/v1/notifications', { token: A.token })).body;
  assert.equal(inbox.data.find((n) => n.id === A.notification.id).read, false);
});

test('bulk actions, filters and imports cannot reach another tenant\'s members', async () => {
  for (const cred of [B.token, B.key.key]) {
    for (const action of ['suspend', 'delete']) {
      assertProblem(await s.post('/v1/members/bulk', { action, ids: [A.member.id] }, { token: cred }), 404);
    }
    assertProblem(await s.post('/v1/members/bulk', { action: 'set_membership_type', ids: [A.member.id], membership_type_id: null }, { token: cred }), 404);
    const own = await s.post('/v1/members', { first_name: 'Bob', last_name: 'B', email: `${unique('bm')}@example.com` }, { token: cred });
    assertProblem(await s.post('/v1/members/bulk', { action: 'set_membership_type', ids: [own.body.id], membership_type_id: A.tier.id }, { token: cred }), 422);
    assertProblem(await s.post('/v1/members', { first_name: 'X', last_name: 'Y', email: `${unique('x')}@example.com`, membership_type_id: A.tier.id }, { token: cred }), 422);
    const filtered = await s.get(`/v1/members?membership_type_id=${A.tier.id}&search=Secret`, { token: cred });
    assert.equal(filtered.body.data.length, 0);
    // importing A's member's email into B creates B's own member; A's is untouched
    const csv = `first_name,last_name,email,status\nMallory,Evil,${A.member.email},suspended\n`;
    const imp = await s.req('POST', '/v1/members/import', { token: cred, headers: { 'content-type': 'text/csv' }, raw: csv });
    assert.equal(imp.status, 200, imp.text);
  }
  const m = await s.get(`/v1/members/${A.member.id}`, { token: A.token });
  assert.equal(m.body.status, 'active');
  assert.equal(m.body.first_name, 'Alice');
  assert.equal(m.body.membership_type_id, A.tier.id);
});

test('no list or read route of tenant B shows anything of tenant A', async () => {
  const secrets = [A.tenant.id, A.user.id, A.key.id, A.invitation.id, A.email, A.member.id, A.tier.id, 'Secret', A.event.id, A.endpoint.id];
  for (const { path, method, op } of await routes()) {
    if (method !== 'GET' || path.includes('{') || !op['x-tenant-scoped']) continue;
    if (path === '/v1/stream') continue; // never ends; its isolation is tested in 150-stream
    for (const cred of [B.token, B.key.key]) {
      const r = await s.get(`${path}?include_total=true`, { token: cred });
      assert.ok(r.status < 500, `${path}: ${r.status}`);
      for (const sec of secrets) assert.ok(!r.text.includes(sec), `${path} leaks ${sec} of another tenant`);
    }
  }
});

test('a forged X-Tenant-Id header changes nothing: the tenant is the credential\'s', async () => {
  for (const cred of [B.token, B.key.key]) {
    const headers = { 'x-tenant-id': A.tenant.id, 'x-tenant': A.tenant.id, tenant: A.tenant.slug };
    const t = await s.get('/v1/tenant', { token: cred, headers });
    assert.equal(t.body.id, B.tenant.id);
    const team = await s.get('/v1/team', { token: cred, headers });
    assert.ok(!team.text.includes(A.user.id));
    const patch = await s.patch('/v1/tenant', { name: 'Hijacked' }, { token: cred, headers });
    assert.equal(patch.body.id, B.tenant.id);
  }
  assert.notEqual((await s.get('/v1/tenant', { token: A.token })).body.name, 'Hijacked');
});

test('query-string tenant ids and filters cannot widen a list', async () => {
  const r = await s.get(`/v1/team?tenant_id=${A.tenant.id}&tenant=${A.tenant.id}`, { token: B.token });
  assert.equal(r.status, 200);
  assert.ok(!r.text.includes(A.user.id));
  const k = await s.get(`/v1/api-keys?tenant_id=${A.tenant.id}`, { token: B.key.key });
  assert.ok(!k.text.includes(A.key.id));
});

test('tampered, re-signed, alg:none and cross-tenant tokens are refused on every protected route', async () => {
  const [h, p] = B.token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.tid = A.tenant.id;
  const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${B.token.split('.')[2]}`;
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
  for (const { path, method, op } of await routes()) {
    if ((op.security && op.security.length === 0)) continue; // public routes
    const url = path.replace(/\{[^}]+\}/g, A.tenant.id);
    for (const tok of [tampered, none, `${A.key.key}x`, A.key.key.slice(0, -1)]) {
      const r = await s.req(method, url, { token: tok, body: method === 'GET' ? undefined : {} });
      assertProblem(r, 401);
    }
  }
});

test('another tenant\'s refresh token cannot be used to end or take over a session', async () => {
  const r = await s.post('/v1/auth/logout', { refresh_token: A.refresh }, { token: B.token });
  assert.equal(r.status, 204);
  // A's session (access and refresh) still works: B's logout could not touch it
  assert.equal((await s.get('/v1/me', { token: A.token })).status, 200);
  const ref = await s.post('/v1/auth/refresh', { refresh_token: A.refresh });
  assert.equal(ref.status, 200);
  assert.equal(ref.body.access_token.split('.').length, 3);
  // and a refreshed A token is A's, never B's
  const me = await s.get('/v1/me', { token: ref.body.access_token });
  assert.equal(me.body.tenant.id, A.tenant.id);
  A.token = ref.body.access_token;
  A.refresh = ref.body.refresh_token;
});
};
