'use strict';
// A cursor walk over 10,000 members sees each existing member exactly once, even while new
// members are inserted during the walk (keyset pagination, not OFFSET).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, unique, operator } = require('./helpers');

let s;
let O;
before(async () => {
  s = await startServer();
  O = await s.signup();
  const r = s.cli('members', 'seed', '--tenant', O.tenant.id, '--count', '10000');
  assert.equal(r.status, 0, r.stderr);
  const op = await operator(s);
  const up = await s.patch(`/v1/admin/tenants/${O.tenant.id}`, { plan: 'pro' }, { token: op.token });
  assert.equal(up.status, 200, up.text);
});
after(async () => { await s.stop(); });

async function walk(sort, during) {
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const q = `/v1/members?limit=200&sort=${sort}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const [page] = await Promise.all([s.get(q, { token: O.token }), during(pages)]);
    assert.equal(page.status, 200, page.text);
    seen.push(...page.body.data.map((m) => m.id));
    cursor = page.body.next_cursor;
    pages++;
  } while (cursor);
  return seen;
}

for (const sort of ['created_at', '-created_at', 'last_name', '-joined_at']) {
  test(`walk by ${sort}: no duplicate, no gap under concurrent inserts`, async () => {
    const before = new Set();
    let cursor = null;
    do {
      const page = await s.get(`/v1/members?limit=200&sort=${sort}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: O.token });
      page.body.data.forEach((m) => before.add(m.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    const inserted = [];
    const seen = await walk(sort, async (i) => {
      if (i % 5 !== 0) return;
      const r = await s.post('/v1/members', { first_name: 'Late', last_name: `Comer${i}`, email: `${unique('late')}@example.com` }, { token: O.token });
      assert.equal(r.status, 201, r.text);
      inserted.push(r.body.id);
    });
    assert.equal(new Set(seen).size, seen.length, 'a member was listed twice');
    for (const id of before) assert.ok(seen.includes(id), `existing member ${id} was skipped`);
    assert.ok(seen.length >= before.size);
    assert.ok(inserted.length >= 10);
  });
}

test('a 1-char prefix and a substring search on 10,000 members are answered from indexes', async () => {
  const a = await s.get('/v1/members?search=h&include_total=true&limit=5', { token: O.token });
  assert.equal(a.status, 200);
  assert.ok(a.body.total > 0);
  for (const m of a.body.data) assert.ok([m.first_name, m.last_name, m.email].some((v) => v.toLowerCase().startsWith('h')));
  const b = await s.get('/v1/members?search=ovela&include_total=true', { token: O.token });
  assert.ok(b.body.total > 0);
  for (const m of b.body.data) assert.ok(`${m.first_name} ${m.last_name} ${m.email}`.toLowerCase().includes('ovela'));
});
