'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem } = require('./helpers');

let s;
let O;
before(async () => { s = await startServer(); O = await s.signup(); });
after(async () => { await s.stop(); });

test('a key is shown once, listed without its secret, and acts with its role in its tenant', async () => {
  const k = await s.apiKey(O.token, 'viewer');
  assert.match(k.id, /^key_[0-9a-z]{26}$/);
  assert.match(k.key, /^pk_live_[A-Za-z0-9_-]{40,}$/);
  assert.equal(k.prefix, k.key.slice(0, 12));
  assert.equal(k.last_used_at, null);
  const list = await s.get('/v1/api-keys', { token: O.token });
  assert.equal(list.status, 200);
  assert.ok(list.body.data.some((x) => x.id === k.id));
  assert.ok(!list.text.includes(k.key), 'secret listed');
  const one = await s.get(`/v1/api-keys/${k.id}`, { token: O.token });
  assert.ok(!('key' in one.body));
  const me = await s.get('/v1/me', { token: k.key });
  assert.equal(me.status, 200);
  assert.equal(me.body.role, 'viewer');
  assert.equal(me.body.user, null);
  assert.equal(me.body.api_key.id, k.id);
  assert.equal(me.body.tenant.id, O.tenant.id);
  // the viewer key reads but cannot manage
  assertProblem(await s.post('/v1/api-keys', { name: 'x', role: 'viewer' }, { token: k.key }), 403, 'forbidden');
  assertProblem(await s.patch('/v1/tenant', { name: 'x' }, { token: k.key }), 403, 'forbidden');
  // last_used_at is recorded
  const after1 = await s.get(`/v1/api-keys/${k.id}`, { token: O.token });
  assert.match(after1.body.last_used_at, /Z$/);
});

test('revoking a key takes effect at once', async () => {
  const k = await s.apiKey(O.token, 'admin');
  assert.equal((await s.get('/v1/tenant', { token: k.key })).status, 200);
  const d = await s.del(`/v1/api-keys/${k.id}`, { token: O.token });
  assert.equal(d.status, 204);
  assertProblem(await s.get('/v1/tenant', { token: k.key }), 401);
  assertProblem(await s.get(`/v1/api-keys/${k.id}`, { token: O.token }), 404);
  assertProblem(await s.del(`/v1/api-keys/${k.id}`, { token: O.token }), 404);
  const list = await s.get('/v1/api-keys', { token: O.token });
  assert.ok(!list.body.data.some((x) => x.id === k.id));
});

test('no key above its creator\'s role; owner is never a key role', async () => {
  const admin = await s.apiKey(O.token, 'admin');
  assertProblem(await s.post('/v1/api-keys', { name: 'x', role: 'owner' }, { token: O.token }), 422, 'validation_failed');
  const editorKey = await s.apiKey(O.token, 'editor');
  assertProblem(await s.post('/v1/api-keys', { name: 'x', role: 'admin' }, { token: editorKey.key }), 403);
  const made = await s.post('/v1/api-keys', { name: 'by-key', role: 'viewer' }, { token: admin.key });
  assert.equal(made.status, 201);
  assert.equal(made.body.created_by, admin.id);
});

test('lists paginate with opaque cursors and totals', async () => {
  const u = await s.signup();
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await s.apiKey(u.token, 'viewer')).id);
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const q = `/v1/api-keys?limit=2&include_total=true${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await s.get(q, { token: u.token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.total, 5);
    assert.ok(r.body.data.length <= 2);
    seen.push(...r.body.data.map((k) => k.id));
    cursor = r.body.next_cursor;
    assert.equal(r.body.has_more, cursor !== null);
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.deepEqual([...seen].sort(), [...ids].sort());
  assert.equal(new Set(seen).size, 5);
  const def = await s.get('/v1/api-keys', { token: u.token });
  assert.ok(!('total' in def.body));
  assert.equal(def.body.next_cursor, null);
  assert.equal(def.body.has_more, false);
});
