'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem, unique } = require('./helpers');

let s;
let O;
let tier;
before(async () => {
  s = await startServer();
  O = await s.signup();
  const t = await s.post('/v1/membership-types', { name: 'Gold', description: 'All in', features: ['gym', 'sauna'], price: { amount: 4999, currency: 'EUR' }, interval: 'month' }, { token: O.token });
  assert.equal(t.status, 201, t.text);
  tier = t.body;
});
after(async () => { await s.stop(); });

const member = (extra = {}) => ({ first_name: 'Ada', last_name: 'Lovelace', email: `${unique('m')}@example.com`, ...extra });

test('membership types: create, read, update, list, and delete only when unused', async () => {
  assert.match(tier.id, /^mt_[0-9a-z]{26}$/);
  assert.deepEqual(tier.price, { amount: 4999, currency: 'EUR' });
  assert.deepEqual(tier.features, ['gym', 'sauna']);
  assertProblem(await s.post('/v1/membership-types', { name: 'Neg', price: { amount: -1, currency: 'EUR' }, interval: 'month' }, { token: O.token }), 422);
  assertProblem(await s.post('/v1/membership-types', { name: 'Cur', price: { amount: 1, currency: 'EURO' }, interval: 'month' }, { token: O.token }), 422);
  assertProblem(await s.post('/v1/membership-types', { name: 'Float', price: { amount: 9.99, currency: 'EUR' }, interval: 'week' }, { token: O.token }), 422);
  assertProblem(await s.post('/v1/membership-types', { name: 'Gold', price: { amount: 1, currency: 'EUR' }, interval: 'year' }, { token: O.token }), 409);
  const p = await s.patch(`/v1/membership-types/${tier.id}`, { description: 'Everything' }, { token: O.token });
  assert.equal(p.body.description, 'Everything');
  assert.equal(p.body.name, 'Gold');
  const spare = (await s.post('/v1/membership-types', { name: 'Spare', price: { amount: 0, currency: 'USD' }, interval: 'year' }, { token: O.token })).body;
  const m = await s.post('/v1/members', member({ membership_type_id: spare.id }), { token: O.token });
  assertProblem(await s.del(`/v1/membership-types/${spare.id}`, { token: O.token }), 409, 'membership_type_in_use');
  await s.del(`/v1/members/${m.body.id}`, { token: O.token });
  assert.equal((await s.del(`/v1/membership-types/${spare.id}`, { token: O.token })).status, 204);
  assertProblem(await s.get(`/v1/membership-types/${spare.id}`, { token: O.token }), 404);
  const list = await s.get('/v1/membership-types?include_total=true', { token: O.token });
  assert.equal(list.body.total, 1);
});

test('members: create with defaults, read, update, soft delete (admins may see it)', async () => {
  const r = await s.post('/v1/members', member({ phone: '+44 20 7946 0958', membership_type_id: tier.id, attributes: { shirt: 'M' } }), { token: O.token });
  assert.equal(r.status, 201, r.text);
  const m = r.body;
  assert.match(m.id, /^mem_/);
  assert.equal(m.status, 'active');
  assert.equal(m.last_activity_at, null);
  assert.deepEqual(m.attributes, { shirt: 'M' });
  assert.ok(m.joined_at && m.created_at && m.updated_at);
  const dup = await s.post('/v1/members', member({ email: m.email.toUpperCase() }), { token: O.token });
  assertProblem(dup, 409, 'conflict');
  const u = await s.patch(`/v1/members/${m.id}`, { status: 'suspended', phone: null, last_name: 'King' }, { token: O.token });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.body.status, 'suspended');
  assert.equal(u.body.phone, null);
  assert.equal(u.body.first_name, 'Ada');
  assert.equal(u.body.last_name, 'King');
  assert.equal((await s.del(`/v1/members/${m.id}`, { token: O.token })).status, 204);
  assertProblem(await s.get(`/v1/members/${m.id}`, { token: O.token }), 404);
  assertProblem(await s.patch(`/v1/members/${m.id}`, { status: 'active' }, { token: O.token }), 404);
  assertProblem(await s.del(`/v1/members/${m.id}`, { token: O.token }), 404);
  const seen = await s.get(`/v1/members/${m.id}?include_deleted=true`, { token: O.token });
  assert.equal(seen.status, 200);
  assert.ok(seen.body.deleted_at);
  // the email is free again
  assert.equal((await s.post('/v1/members', member({ email: m.email }), { token: O.token })).status, 201);
  // a viewer reads but cannot write or see deleted members
  const inv = await s.post('/v1/invitations', { email: `${unique('v')}@example.com`, role: 'viewer' }, { token: O.token });
  const viewer = (await s.post('/v1/invitations/accept', { token: inv.body.token, password: 'viewer-passphrase-1' })).body.access_token;
  assert.equal((await s.get('/v1/members', { token: viewer })).status, 200);
  assertProblem(await s.post('/v1/members', member(), { token: viewer }), 403);
  assertProblem(await s.get('/v1/members?include_deleted=true', { token: viewer }), 403);
});

test('members: validation names each bad field', async () => {
  const r = await s.post('/v1/members', { first_name: '', email: 'nope', status: 'gone', phone: 'call me', joined_at: 'yesterday', membership_type_id: 'mt_00000000000000000000000000', attributes: [], extra: 1 }, { token: O.token });
  const p = assertProblem(r, 422, 'validation_failed');
  assert.deepEqual(p.errors.map((e) => e.field).sort(), ['attributes', 'email', 'extra', 'first_name', 'joined_at', 'last_name', 'phone', 'status']);
  const t = assertProblem(await s.post('/v1/members', member({ membership_type_id: 'mt_00000000000000000000000000' }), { token: O.token }), 422);
  assert.equal(t.errors[0].field, 'membership_type_id');
  const big = assertProblem(await s.post('/v1/members', member({ attributes: { x: 'y'.repeat(17000) } }), { token: O.token }), 422);
  assert.equal(big.errors[0].field, 'attributes');
});

test('list: filters, search (substring and short prefix), sorts, totals', async () => {
  const u = await s.signup();
  const t2 = (await s.post('/v1/membership-types', { name: 'Silver', price: { amount: 1999, currency: 'EUR' }, interval: 'month' }, { token: u.token })).body;
  const people = [
    ['Grace', 'Hopper', 'grace@navy.example', 'active', '2024-01-15T00:00:00Z', t2.id],
    ['Alan', 'Turing', 'alan@bletchley.example', 'inactive', '2023-06-01T00:00:00Z', null],
    ['Ada', 'Lovelace', 'ada@engines.example', 'active', '2025-03-10T00:00:00Z', t2.id],
    ['Edsger', 'Dijkstra', 'ewd@tue.example', 'suspended', '2022-02-02T00:00:00Z', null],
    ['Barbara', 'Liskov', 'barbara@mit.example', 'pending', '2025-12-24T00:00:00Z', t2.id],
  ];
  for (const [first_name, last_name, email, status, joined_at, membership_type_id] of people) {
    const r = await s.post('/v1/members', { first_name, last_name, email, status, joined_at, membership_type_id }, { token: u.token });
    assert.equal(r.status, 201, r.text);
  }
  const q = async (qs) => (await s.get(`/v1/members?${qs}`, { token: u.token })).body;
  assert.deepEqual((await q('search=opp')).data.map((m) => m.last_name), ['Hopper']);
  assert.deepEqual((await q('search=LETCH')).data.map((m) => m.last_name), ['Turing']);
  assert.deepEqual((await q('search=li')).data.map((m) => m.last_name), ['Liskov']);
  assert.deepEqual((await q('search=a')).data.map((m) => m.first_name).sort(), ['Ada', 'Alan']);
  assert.deepEqual((await q('search=%22quoted%22')).data, []);
  assert.deepEqual((await q('status=active&sort=last_name')).data.map((m) => m.last_name), ['Hopper', 'Lovelace']);
  assert.equal((await q(`membership_type_id=${t2.id}&include_total=true`)).total, 3);
  assert.deepEqual((await q('joined_after=2024-01-01T00:00:00Z&joined_before=2025-06-01T00:00:00Z&sort=joined_at')).data.map((m) => m.last_name), ['Hopper', 'Lovelace']);
  assert.deepEqual((await q('sort=-joined_at')).data.map((m) => m.last_name), ['Liskov', 'Lovelace', 'Hopper', 'Turing', 'Dijkstra']);
  assert.deepEqual((await q('sort=last_name')).data.map((m) => m.last_name), ['Dijkstra', 'Hopper', 'Liskov', 'Lovelace', 'Turing']);
  assert.deepEqual((await q('sort=-created_at')).data.map((m) => m.last_name), ['Liskov', 'Dijkstra', 'Lovelace', 'Turing', 'Hopper']);
  assert.equal((await q('sort=last_activity_at')).data.length, 5);
  // paging through a sorted list with a small limit gives every row once
  const names = [];
  let cur = null;
  do {
    const page = await q(`sort=-last_name&limit=2${cur ? `&cursor=${encodeURIComponent(cur)}` : ''}`);
    names.push(...page.data.map((m) => m.last_name));
    cur = page.next_cursor;
  } while (cur);
  assert.deepEqual(names, ['Turing', 'Lovelace', 'Liskov', 'Hopper', 'Dijkstra']);
});

test('list: bad filters and paging are 422 with the field named', async () => {
  for (const [qs, field] of [['sort=age', 'sort'], ['status=dead', 'status'], ['limit=0', 'limit'], ['limit=201', 'limit'],
    ['joined_after=yesterday', 'joined_after'], ['membership_type_id=xyz', 'membership_type_id'], ['cursor=abc', 'cursor'],
    [`search=${'x'.repeat(101)}`, 'search']]) {
    const p = assertProblem(await s.get(`/v1/members?${qs}`, { token: O.token }), 422, 'validation_failed');
    assert.equal(p.errors[0].field, field, qs);
  }
  // a cursor of one sort order is refused by another
  for (let i = 0; i < 3; i++) await s.post('/v1/members', member(), { token: O.token });
  const page = (await s.get('/v1/members?limit=1&sort=last_name', { token: O.token })).body;
  const p = assertProblem(await s.get(`/v1/members?limit=1&sort=joined_at&cursor=${encodeURIComponent(page.next_cursor)}`, { token: O.token }), 422);
  assert.equal(p.errors[0].field, 'cursor');
});

test('bulk: all or nothing, reports what changed; foreign ids count as not found', async () => {
  const u = await s.signup();
  const other = await s.signup();
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await s.post('/v1/members', member(), { token: u.token })).body.id);
  const foreign = (await s.post('/v1/members', member(), { token: other.token })).body.id;
  const r = await s.post('/v1/members/bulk', { action: 'suspend', ids: [...ids.slice(0, 3), foreign] }, { token: u.token });
  const p = assertProblem(r, 404, 'not_found');
  assert.equal(p.errors[0].field, 'ids[3]');
  for (const id of ids) assert.equal((await s.get(`/v1/members/${id}`, { token: u.token })).body.status, 'active');
  assert.equal((await s.get(`/v1/members/${foreign}`, { token: other.token })).body.status, 'active');
  const ok = await s.post('/v1/members/bulk', { action: 'suspend', ids: ids.slice(0, 3) }, { token: u.token });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.count, 3);
  const again = await s.post('/v1/members/bulk', { action: 'suspend', ids: ids.slice(0, 4) }, { token: u.token });
  assert.deepEqual(again.body.changed, [ids[3]]);
  assert.equal(again.body.unchanged.length, 3);
  const t = (await s.post('/v1/membership-types', { name: 'Bronze', price: { amount: 500, currency: 'EUR' }, interval: 'month' }, { token: u.token })).body;
  const set = await s.post('/v1/members/bulk', { action: 'set_membership_type', ids, membership_type_id: t.id }, { token: u.token });
  assert.equal(set.body.count, 5);
  assert.equal((await s.get(`/v1/members/${ids[4]}`, { token: u.token })).body.membership_type_id, t.id);
  assertProblem(await s.post('/v1/members/bulk', { action: 'set_membership_type', ids }, { token: u.token }), 422);
  const del = await s.post('/v1/members/bulk', { action: 'delete', ids: ids.slice(0, 2) }, { token: u.token });
  assert.equal(del.body.count, 2);
  assertProblem(await s.get(`/v1/members/${ids[0]}`, { token: u.token }), 404);
  assertProblem(await s.post('/v1/members/bulk', { action: 'explode', ids }, { token: u.token }), 422);
  assertProblem(await s.post('/v1/members/bulk', { action: 'activate', ids: [] }, { token: u.token }), 422);
  assertProblem(await s.post('/v1/members/bulk', { action: 'activate', ids: Array(1001).fill(ids[4]) }, { token: u.token }), 422);
});

test('activities: recorded, listed newest first, and last_activity_at moves forward', async () => {
  const m = (await s.post('/v1/members', member(), { token: O.token })).body;
  const a1 = await s.post(`/v1/members/${m.id}/activities`, { type: 'check_in', occurred_at: '2026-01-02T10:00:00Z', properties: { gate: 3 } }, { token: O.token });
  assert.equal(a1.status, 201, a1.text);
  assert.match(a1.body.id, /^act_/);
  await s.post(`/v1/members/${m.id}/activities`, { type: 'class.booked', occurred_at: '2025-12-01T10:00:00Z' }, { token: O.token });
  const got = (await s.get(`/v1/members/${m.id}`, { token: O.token })).body;
  assert.equal(got.last_activity_at, '2026-01-02T10:00:00.000Z');
  const list = await s.get(`/v1/members/${m.id}/activities?include_total=true`, { token: O.token });
  assert.equal(list.body.total, 2);
  assert.equal(list.body.data[0].type, 'class.booked');
  assertProblem(await s.post(`/v1/members/${m.id}/activities`, { type: 'Bad Type!' }, { token: O.token }), 422);
  assertProblem(await s.post(`/v1/members/${m.id}/activities`, { type: 'x', occurred_at: '2999-01-01T00:00:00Z' }, { token: O.token }), 422);
  assertProblem(await s.post('/v1/members/mem_00000000000000000000000000/activities', { type: 'x' }, { token: O.token }), 404);
});

test('CSV: export then import gives the same members; bad rows are reported with line numbers', async () => {
  const u = await s.signup();
  for (const [f, l] of [['Quote', 'O"Brien'], ['Comma', 'Smith, Jr.'], ['Line', 'Break\nHere'], ['Ünï', 'Cødé']]) {
    const r = await s.post('/v1/members', member({ first_name: f, last_name: l, attributes: { note: 'a,b' } }), { token: u.token });
    assert.equal(r.status, 201, r.text);
  }
  const exp = await s.get('/v1/members/export?format=csv', { token: u.token });
  assert.equal(exp.status, 200);
  assert.match(exp.headers.get('content-type'), /^text\/csv/);
  const before = (await s.get('/v1/members?limit=200', { token: u.token })).body.data;
  // import into a fresh organization: the same members appear
  const v = await s.signup();
  const imp = await s.req('POST', '/v1/members/import', { token: v.token, headers: { 'content-type': 'text/csv' }, raw: exp.text });
  assert.equal(imp.status, 200, imp.text);
  assert.deepEqual({ created: imp.body.created, updated: imp.body.updated, rejected: imp.body.rejected }, { created: 4, updated: 0, rejected: 0 });
  const after = (await s.get('/v1/members?limit=200', { token: v.token })).body.data;
  const strip = (m) => ({ first_name: m.first_name, last_name: m.last_name, email: m.email, phone: m.phone, status: m.status, joined_at: m.joined_at, attributes: m.attributes });
  assert.deepEqual(after.map(strip), before.map(strip));
  // importing the same file again updates instead of duplicating
  const again = await s.req('POST', '/v1/members/import', { token: v.token, headers: { 'content-type': 'text/csv' }, raw: exp.text });
  assert.equal(again.body.updated, 4);
  // JSON export has the same members
  const j = await s.get('/v1/members/export?format=json', { token: u.token });
  assert.equal(j.body.length, 4);
  // bad rows: reported with their line, the good rows still go in
  const csv = 'first_name,last_name,email,status\nGood,Row,good@example.com,active\nBad,,bad-email,zombie\n"Multi\nLine",Name,multi@example.com,pending\nShort,Row\n';
  const rep = await s.req('POST', '/v1/members/import', { token: v.token, headers: { 'content-type': 'text/csv' }, raw: csv });
  assert.equal(rep.status, 200, rep.text);
  assert.equal(rep.body.created, 2);
  assert.deepEqual(rep.body.errors.map((e) => e.line), [3, 6]);
  assert.ok(rep.body.errors[0].errors.some((e) => e.field === 'email'));
  // a dry run reports but changes nothing
  const dry = await s.req('POST', '/v1/members/import?dry_run=true', { token: v.token, headers: { 'content-type': 'text/csv' }, raw: 'first_name,last_name,email\nDry,Run,dry@example.com\n' });
  assert.equal(dry.body.created, 1);
  assert.equal(dry.body.dry_run, true);
  assert.equal((await s.get('/v1/members?search=dry', { token: v.token })).body.data.length, 0);
  // broken files
  assertProblem(await s.req('POST', '/v1/members/import', { token: v.token, headers: { 'content-type': 'text/csv' }, raw: 'first_name,shoe_size\nA,42\n' }), 422);
  assertProblem(await s.req('POST', '/v1/members/import', { token: v.token, headers: { 'content-type': 'text/csv' }, raw: 'first_name,last_name,email\n"unterminated,x,y\n' }), 400);
  assertProblem(await s.req('POST', '/v1/members/import', { token: v.token, headers: { 'content-type': 'application/json' }, raw: '{}' }), 415);
  assertProblem(await s.get('/v1/members/export?format=xml', { token: u.token }), 422);
});

test('analytics: engagement, retention and revenue from the tenant\'s own data', async () => {
  const u = await s.signup();
  const t = (await s.post('/v1/membership-types', { name: 'Pro', price: { amount: 3000, currency: 'EUR' }, interval: 'month' }, { token: u.token })).body;
  const y = (await s.post('/v1/membership-types', { name: 'Annual', price: { amount: 12000, currency: 'EUR' }, interval: 'year' }, { token: u.token })).body;
  const now = Date.now();
  const joined = new Date(now - 40 * 86400000).toISOString();
  const busy = (await s.post('/v1/members', member({ membership_type_id: t.id, joined_at: joined }), { token: u.token })).body;
  const calm = (await s.post('/v1/members', member({ membership_type_id: y.id, joined_at: joined }), { token: u.token })).body;
  await s.post('/v1/members', member({ membership_type_id: t.id, status: 'inactive' }), { token: u.token });
  for (let i = 0; i < 21; i++) await s.post(`/v1/members/${busy.id}/activities`, { type: 'check_in', occurred_at: new Date(now - i * 3600000).toISOString() }, { token: u.token });
  await s.post(`/v1/members/${calm.id}/activities`, { type: 'check_in' }, { token: u.token });
  const e = await s.get('/v1/analytics/engagement?timeframe=7d', { token: u.token });
  assert.equal(e.status, 200, e.text);
  assert.equal(e.body.daily.length, 7);
  assert.deepEqual(e.body.segments, { highly_active: 1, moderately_active: 0, low_activity: 1, inactive: 1 });
  assert.equal(e.body.totals.activities, 22);
  assert.equal(e.body.daily.reduce((n, d) => n + d.activities, 0), 22);
  assertProblem(await s.get('/v1/analytics/engagement?timeframe=forever', { token: u.token }), 422);
  const r = await s.get('/v1/analytics/retention?months=3', { token: u.token });
  assert.equal(r.body.cohorts.length, 3);
  const size = r.body.cohorts.reduce((n, c) => n + c.size, 0);
  assert.equal(size, 3);
  const rev = await s.get('/v1/analytics/revenue?months=2', { token: u.token });
  const cur = rev.body.data[1];
  assert.deepEqual(cur.total, [{ amount: 3000 + 1000, currency: 'EUR' }]);
  assert.equal(cur.tiers.find((x) => x.name === 'Pro').members, 1);
  // other tenants' analytics do not see these
  const other = await s.signup();
  const oe = await s.get('/v1/analytics/engagement', { token: other.token });
  assert.equal(oe.body.totals.activities, 0);
});
