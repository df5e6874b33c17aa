'use strict';
// Plans, limits, feature flags, rate limits, quotas, idempotency keys and the audit log.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem, operator, unique } = require('./helpers');

let s;
let op;
before(async () => { s = await startServer(); op = await operator(s); });
after(async () => { await s.stop(); });

const member = () => ({ first_name: 'Lim', last_name: 'It', email: `${unique('lim')}@example.com` });

test('plans are seeded and managed by operators; a tenant shows its effective plan and usage', async () => {
  const plans = await s.get('/v1/admin/plans', { token: op.token });
  assert.deepEqual(plans.body.data.map((p) => p.key), ['starter', 'growth', 'pro', 'enterprise']);
  assert.equal(plans.body.data[3].limits.members, -1);
  const np = await s.post('/v1/admin/plans', { key: 'tiny', name: 'Tiny', features: { basic_analytics: false }, limits: { members: 2, api_keys: 1 }, rate_limits: { tenant: { rate: 50, burst: 100 } } }, { token: op.token });
  assert.equal(np.status, 201, np.text);
  assertProblem(await s.post('/v1/admin/plans', { key: 'bad', name: 'Bad', limits: { members: -5 }, rate_limits: { moon: { rate: 1 } } }, { token: op.token }), 422);
  const u = await s.signup();
  assertProblem(await s.get('/v1/admin/plans', { token: u.token }), 403);
  const t = await s.get('/v1/tenant', { token: u.token });
  assert.equal(t.body.plan.key, 'starter');
  assert.deepEqual(t.body.limits.team_members, { limit: 5, usage: 1, enforced: true });
  assert.equal(t.body.limits.members.usage, 0);
  assert.ok(t.body.features.basic_analytics);
  const ch = await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { plan: 'tiny' }, { token: op.token });
  assert.equal(ch.status, 200, ch.text);
  assert.equal((await s.get('/v1/tenant', { token: u.token })).body.plan.key, 'tiny');
  assertProblem(await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { plan: 'nope' }, { token: op.token }), 422);
  const p2 = await s.patch(`/v1/admin/plans/${np.body.id}`, { limits: { members: 3, api_keys: 1 } }, { token: op.token });
  assert.equal(p2.body.limits.members, 3);
});

test('limits stop creation at the exact boundary, even with 20 concurrent creates', async () => {
  const u = await s.signup();
  await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { overrides: { limits: { members: 7 } } }, { token: op.token });
  const rs = await Promise.all(Array.from({ length: 20 }, () => s.post('/v1/members', member(), { token: u.token })));
  assert.equal(rs.filter((r) => r.status === 201).length, 7, rs.map((r) => r.status).join(','));
  const refused = rs.find((r) => r.status !== 201);
  const p = assertProblem(refused, 403, 'limit_exceeded');
  assert.deepEqual({ limit: p.limit, value: p.value, usage: p.usage }, { limit: 'members', value: 7, usage: 7 });
  assert.equal((await s.get('/v1/members?include_total=true', { token: u.token })).body.total, 7);
  // API keys: the starter plan allows 5
  const ks = await Promise.all(Array.from({ length: 20 }, (_, i) => s.post('/v1/api-keys', { name: `k${i}`, role: 'viewer' }, { token: u.token })));
  assert.equal(ks.filter((r) => r.status === 201).length, 5);
  // an override takes effect at once
  await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { overrides: { limits: { members: 7, api_keys: 6 } } }, { token: op.token });
  assert.equal((await s.post('/v1/api-keys', { name: 'one more', role: 'viewer' }, { token: u.token })).status, 201);
  assertProblem(await s.post('/v1/api-keys', { name: 'too many', role: 'viewer' }, { token: u.token }), 403, 'limit_exceeded');
  // team: members plus pending invitations count
  await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { overrides: { limits: { team_members: 2 } } }, { token: op.token });
  assert.equal((await s.post('/v1/invitations', { email: `${unique('t')}@example.com`, role: 'viewer' }, { token: u.token })).status, 201);
  assertProblem(await s.post('/v1/invitations', { email: `${unique('t')}@example.com`, role: 'viewer' }, { token: u.token }), 403, 'limit_exceeded');
});

test('feature flags: plan, override, rollout; a route that needs a feature says so', async () => {
  const u = await s.signup();
  assert.equal((await s.get('/v1/analytics/engagement', { token: u.token })).status, 200);
  await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { overrides: { features: { basic_analytics: false, sso: true } } }, { token: op.token });
  assertProblem(await s.get('/v1/analytics/engagement', { token: u.token }), 403, 'feature_not_enabled');
  const f = await s.get('/v1/features', { token: u.token });
  assert.equal(f.body.features.sso, true);
  assert.equal(f.body.features.basic_analytics, false);
  await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { overrides: null }, { token: op.token });
  assert.equal((await s.get('/v1/analytics/engagement', { token: u.token })).status, 200);
  // percentage rollout: stable per tenant, roughly the share asked for
  assert.equal((await s.post('/v1/admin/feature-flags', { key: 'new_dashboard', description: 'x', rollout_percent: 50 }, { token: op.token })).status, 201);
  assertProblem(await s.post('/v1/admin/feature-flags', { key: 'Bad Key', rollout_percent: 101 }, { token: op.token }), 422);
  const users = await Promise.all(Array.from({ length: 16 }, () => s.signup()));
  const first = await Promise.all(users.map((x) => s.get('/v1/features', { token: x.token })));
  const again = await Promise.all(users.map((x) => s.get('/v1/features', { token: x.token })));
  const on = first.map((r) => r.body.features.new_dashboard);
  assert.deepEqual(on, again.map((r) => r.body.features.new_dashboard));
  assert.ok(on.some((x) => x) && on.some((x) => !x), `rollout gave ${on}`);
  await s.patch('/v1/admin/feature-flags/new_dashboard', { rollout_percent: 100 }, { token: op.token });
  const all = await Promise.all(users.map((x) => s.get('/v1/features', { token: x.token })));
  assert.ok(all.every((r) => r.body.features.new_dashboard === true));
  assertProblem(await s.patch('/v1/admin/feature-flags/missing', { rollout_percent: 1 }, { token: op.token }), 404);
});

test('rate limits: 429 with Retry-After and RateLimit headers per tenant, key and IP; no noisy neighbour', async () => {
  const rl = await startServer({ env: { PLINTH_RATE_LIMIT_TENANT: '1:5', PLINTH_RATE_LIMIT_KEY: '1:3', PLINTH_RATE_LIMIT_IP: '1000:1000' } });
  try {
    const a = await rl.signup();
    const b = await rl.signup();
    const first = await rl.get('/v1/tenant', { token: a.token });
    assert.equal(first.headers.get('ratelimit-limit'), '5');
    assert.match(first.headers.get('ratelimit-policy'), /"tenant";q=5;w=5/);
    assert.match(first.headers.get('ratelimit'), /r=\d+;t=\d+/);
    let last;
    for (let i = 0; i < 6; i++) last = await rl.get('/v1/tenant', { token: a.token });
    const p = assertProblem(last, 429, 'rate_limited');
    assert.ok(Number(last.headers.get('retry-after')) >= 1);
    assert.equal(last.headers.get('ratelimit-remaining'), '0');
    assert.match(p.detail, /tenant/);
    // tenant B is not slowed down by A
    assert.equal((await rl.get('/v1/tenant', { token: b.token })).status, 200);
    // an API key has a bucket of its own, smaller than the tenant's
    await new Promise((r) => setTimeout(r, 5200));
    const key = await rl.apiKey(b.token, 'viewer');
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await rl.get('/v1/tenant', { token: key.key })).status);
    assert.deepEqual(codes, [200, 200, 200, 429]);
  } finally {
    await rl.stop();
  }
  const ip = await startServer({ env: { PLINTH_RATE_LIMIT_IP: '1:3' } });
  try {
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await ip.post('/v1/auth/login', { email: 'x@example.com', password: 'whatever-123' })).status);
    assert.deepEqual(codes, [401, 401, 401, 429, 429]);
  } finally {
    await ip.stop();
  }
});

test('quotas: the plan\'s daily API calls, then 429 quota_exceeded until tomorrow', async () => {
  const u = await s.signup();
  await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { overrides: { limits: { api_calls_per_day: 5 } } }, { token: op.token });
  const codes = [];
  for (let i = 0; i < 7; i++) codes.push((await s.get('/v1/me', { token: u.token })).status);
  assert.deepEqual(codes.slice(0, 5), [200, 200, 200, 200, 200]);
  const r = await s.get('/v1/me', { token: u.token });
  assertProblem(r, 429, 'quota_exceeded');
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  const t = (await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { overrides: { limits: { api_calls_per_day: 100 } } }, { token: op.token })).body;
  assert.ok(t.limits.api_calls_per_day.usage >= 5);
  assert.equal((await s.get('/v1/me', { token: u.token })).status, 200);
});

test('idempotency keys: replay, reuse with another body, concurrent duplicates', async () => {
  const u = await s.signup();
  await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { plan: 'enterprise' }, { token: op.token });
  const body = member();
  const h = { 'idempotency-key': `k-${unique()}` };
  const a = await s.post('/v1/members', body, { token: u.token, headers: h });
  assert.equal(a.status, 201);
  assert.equal(a.headers.get('idempotent-replayed'), null);
  const b = await s.post('/v1/members', body, { token: u.token, headers: h });
  assert.equal(b.status, 201);
  assert.equal(b.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(b.body, a.body);
  assertProblem(await s.post('/v1/members', { ...body, first_name: 'Other' }, { token: u.token, headers: h }), 422, 'idempotency_key_reused');
  assert.equal((await s.get('/v1/members?include_total=true', { token: u.token })).body.total, 1);
  // a failed request is not stored: the key can be used again
  const h2 = { 'idempotency-key': `k-${unique()}` };
  assertProblem(await s.post('/v1/members', { first_name: 'x' }, { token: u.token, headers: h2 }), 422);
  assert.equal((await s.post('/v1/members', member(), { token: u.token, headers: h2 })).status, 201);
  // 20 concurrent requests with one key create one member
  const h3 = { 'idempotency-key': `k-${unique()}` };
  const b3 = member();
  const rs = await Promise.all(Array.from({ length: 20 }, () => s.post('/v1/members', b3, { token: u.token, headers: h3 })));
  const created = rs.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') !== 'true');
  assert.equal(created.length, 1, rs.map((r) => r.status).join(','));
  for (const r of rs) assert.ok(r.status === 201 || (r.status === 409 && r.body.code === 'idempotency_key_in_use'), r.text);
  assert.equal((await s.get(`/v1/members?search=${encodeURIComponent(b3.email)}&include_total=true`, { token: u.token })).body.total, 1);
  // bad keys
  assertProblem(await s.post('/v1/members', member(), { token: u.token, headers: { 'idempotency-key': 'x'.repeat(256) } }), 400, 'validation_failed');
  // scope is tenant + key: another tenant may use the same key
  const v = await s.signup();
  assert.equal((await s.post('/v1/members', member(), { token: v.token, headers: h })).headers.get('idempotent-replayed'), null);
});

test('audit log: every mutation leaves a chained entry; secrets are redacted; verify catches edits', async () => {
  const u = await s.signup();
  const key = await s.apiKey(u.token, 'editor');
  const m = (await s.post('/v1/members', member(), { token: key.key })).body;
  await s.patch(`/v1/members/${m.id}`, { status: 'suspended' }, { token: u.token });
  await s.del(`/v1/members/${m.id}`, { token: u.token });
  await s.patch('/v1/tenant', { name: 'Audited' }, { token: u.token });
  await s.del(`/v1/api-keys/${key.id}`, { token: u.token });
  const log = await s.get('/v1/audit-logs?limit=200', { token: u.token });
  assert.equal(log.status, 200, log.text);
  const actions = log.body.data.map((e) => e.action).reverse();
  assert.deepEqual(actions, ['auth.signup', 'api_key.created', 'member.created', 'member.updated', 'member.deleted', 'tenant.updated', 'api_key.revoked']);
  const created = log.body.data.find((e) => e.action === 'api_key.created');
  assert.equal(created.after.key, '[redacted]');
  assert.ok(!log.text.includes(key.key), 'a secret reached the audit log');
  const signup = log.body.data.find((e) => e.action === 'auth.signup');
  assert.equal(signup.after.id, u.user.id); // the user it created; its tokens are not a change
  assert.ok(!log.text.includes(u.token), 'a token reached the audit log');
  const mc = log.body.data.find((e) => e.action === 'member.created');
  assert.deepEqual(mc.actor, { type: 'api_key', id: key.id });
  assert.equal(mc.resource.id, m.id);
  const tu = log.body.data.find((e) => e.action === 'tenant.updated');
  assert.equal(tu.actor.id, u.user.id);
  assert.ok(tu.ip && tu.request_id);
  const seqs = log.body.data.map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => y - x));
  const filtered = await s.get('/v1/audit-logs?action=member', { token: u.token });
  assert.equal(filtered.body.data.length, 3);
  const byRes = await s.get(`/v1/audit-logs?resource_id=${m.id}`, { token: u.token });
  assert.equal(byRes.body.data.length, 3);
  // viewers may not read the audit log
  const inv = await s.post('/v1/invitations', { email: `${unique('v')}@example.com`, role: 'viewer' }, { token: u.token });
  const viewer = (await s.post('/v1/invitations/accept', { token: inv.body.token, password: 'viewer-passphrase-1' })).body;
  assertProblem(await s.get('/v1/audit-logs', { token: viewer.access_token }), 403);
  // operators' actions are in the platform's log
  const oplog = await s.get('/v1/audit-logs?action=tenant', { token: op.token });
  assert.ok(oplog.body.data.some((e) => e.action === 'tenant.plan_changed' && e.actor.type === 'operator'));
  // the chain verifies, and an edited row breaks it
  const ok = s.cli('audit', 'verify');
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, new RegExp(`ok +${u.tenant.id}: \\d+ entries`));
  s.sql(`UPDATE audit_log SET action = 'member.viewed' WHERE tenant_id = '${u.tenant.id}' AND seq = 4`);
  const bad = s.cli('audit', 'verify', '--tenant', u.tenant.id);
  assert.equal(bad.status, 1, bad.stdout);
  assert.match(bad.stdout, /BROKEN .*seq 4/);
  const other = s.cli('audit', 'verify', '--tenant', op.tenant.id);
  assert.equal(other.status, 0, other.stdout);
});
