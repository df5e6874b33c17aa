'use strict';
// Several nodes on one PostgreSQL and one Redis (PLINTH_TEST_PG, PLINTH_TEST_REDIS; make
// api-postgres): a stream on one node sees what another wrote, a tenant's rate limit is one
// bucket for all nodes, a revocation through one node is refused by the other within a
// second, jobs are claimed once, and webhook deliveries of a node killed with kill -9
// mid-run are taken over after their lease and reach the endpoint; a tenant moved to another
// cell is served from there by both nodes.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { startServer, operator, unique, openStream, receiver, until } = require('./helpers');

const PG = process.env.PLINTH_TEST_PG;
const REDIS = process.env.PLINTH_TEST_REDIS;
const skip = PG && REDIS ? false : 'runs on PostgreSQL + Redis only (make api-postgres)';
const env = {
  PLINTH_REDIS_URL: REDIS,
  PLINTH_ALLOW_PRIVATE_WEBHOOKS: '1',
  PLINTH_WEBHOOK_RETRIES: '1,1,1',
  PLINTH_WEBHOOK_LEASE: '3',
  PLINTH_CSV_JOB_THRESHOLD: '2',
};
let n1;
let n2;

// Another node of n1's database, with a data directory of its own.
const node = (extra = {}) => startServer({
  env: { ...env, PLINTH_DATABASE_URL: n1.env.PLINTH_DATABASE_URL, PLINTH_MIGRATE_URL: n1.env.PLINTH_MIGRATE_URL, ...extra },
});
const member = () => ({ first_name: 'Multi', last_name: 'Node', email: `${unique('mn')}@example.com` });

before(async () => {
  if (skip) return;
  n1 = await startServer({ env });
  n2 = await node();
});

after(async () => {
  if (n2) await n2.stop();
  if (n1) await n1.stop();
});

test('a stream on one node gets the events written through the other, in order', { skip }, async () => {
  const u = await n1.signup();
  const on2 = await openStream(n2, u.token);
  const on1 = await openStream(n1, u.token);
  try {
    const ids = [];
    for (let i = 0; i < 6; i++) {
      const r = await (i % 2 ? n2 : n1).post('/v1/members', member(), { token: u.token });
      assert.equal(r.status, 201, r.text);
      ids.push(r.body.id);
    }
    for (const st of [on1, on2]) {
      await until(() => st.events.filter((e) => e.event === 'member.created').length === 6, 5000);
      assert.deepEqual(st.events.filter((e) => e.event === 'member.created').map((e) => e.data.id), ids);
    }
  } finally {
    on1.close();
    on2.close();
  }
});

test('a tenant\'s rate limit is one bucket across the nodes', { skip }, async () => {
  const u = await n1.signup();
  const op = await operator(n1);
  const o = await n1.patch(`/v1/admin/tenants/${u.tenant.id}`, { overrides: { rate_limits: { tenant: { rate: 1, burst: 10 } } } }, { token: op.token });
  assert.equal(o.status, 200, o.text);
  const codes = [];
  for (let i = 0; i < 24; i++) codes.push((await (i % 2 ? n2 : n1).get('/v1/members', { token: u.token })).status);
  const ok = codes.filter((c) => c === 200).length;
  // a burst of 10 and 1 a second: each node on its own would let about 20 through
  assert.ok(ok >= 10 && ok <= 13, codes.join(','));
  assert.ok(codes.includes(429));
});

test('a key revoked or a session ended through one node is refused by the other within a second', { skip }, async () => {
  const u = await n1.signup();
  const key = await n1.apiKey(u.token, 'viewer');
  const other = await n1.post('/v1/auth/login', { email: u.email, password: u.password });
  assert.equal((await n2.get('/v1/members', { token: key.key })).status, 200);
  assert.equal((await n2.get('/v1/me', { token: other.body.access_token })).status, 200);
  const revoke = async (what, doit) => {
    await doit();
    const t0 = Date.now();
    await until(async () => (await what()).status === 401, 3000);
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `refused after ${ms} ms`);
  };
  const secret = key.key;
  await revoke(() => n2.get('/v1/members', { token: secret }), async () => {
    assert.equal((await n1.del(`/v1/api-keys/${key.id}`, { token: u.token })).status, 204);
  });
  await revoke(() => n2.get('/v1/me', { token: other.body.access_token }), async () => {
    assert.equal((await n1.post('/v1/auth/logout', undefined, { token: other.body.access_token })).status, 204);
  });
});

test('jobs queued through both nodes each run once; their files download from either node', { skip }, async () => {
  const u = await n1.signup();
  await n1.patch(`/v1/admin/tenants/${u.tenant.id}`, { plan: 'enterprise' }, { token: (await operator(n1)).token });
  for (let i = 0; i < 4; i++) assert.equal((await n1.post('/v1/members', member(), { token: u.token })).status, 201);
  const jobs = [];
  for (let i = 0; i < 8; i++) {
    const r = await (i % 2 ? n2 : n1).post('/v1/members/export?format=csv', undefined, { token: u.token });
    assert.equal(r.status, 202, r.text);
    jobs.push(r.body.id);
  }
  for (const id of jobs) {
    const j = await n1.waitJob(id, u.token);
    assert.equal(j.state, 'succeeded', JSON.stringify(j));
    assert.equal(j.attempts, 1, JSON.stringify(j));
    // the file is in the store: either node serves the download
    for (const n of [n1, n2]) {
      const f = await n.get(j.result.download_url, { token: u.token });
      assert.equal(f.status, 200, f.text);
      assert.equal(f.text.trim().split('\r\n').length, 5, f.text);
    }
  }
});

test('webhook deliveries of a node killed mid-run are taken over and each event arrives', { skip }, async () => {
  const rx = await receiver();
  const n3 = await node();
  try {
    const u = await n1.signup();
    await n1.patch(`/v1/admin/tenants/${u.tenant.id}`, { plan: 'enterprise' }, { token: (await operator(n1)).token });
    const ep = await n1.post('/v1/webhook-endpoints', { url: rx.url, events: ['member.created'] }, { token: u.token });
    assert.equal(ep.status, 201, ep.text);
    const ids = [];
    for (let i = 0; i < 30; i++) {
      const r = await (n3.exit ? [n1, n2][i % 2] : [n1, n2, n3][i % 3]).post('/v1/members', member(), { token: u.token });
      assert.equal(r.status, 201, r.text);
      ids.push(r.body.id);
      if (i === 10) await n3.kill9();
    }
    if (!n3.exit) await n3.kill9();
    await until(() => new Set(rx.got.map((m) => JSON.parse(m.body).data.id)).size === 30, 20000);
    const got = rx.got.map((m) => JSON.parse(m.body).data.id);
    assert.deepEqual([...new Set(got)].sort(), [...ids].sort());
    // in the tenant's order across the nodes (the members were written one after another)
    assert.deepEqual([...new Set(got)], ids, 'the events arrived in their order');
    // at most what the killed node had in flight (one per endpoint) arrives twice, with the same webhook-id
    assert.ok(got.length - 30 <= 1, `${got.length - 30} duplicates`);
    // one delivery per event in the log, each succeeded (its outcome is recorded just after the answer)
    await until(async () => {
      const log = (await n1.get(`/v1/webhook-endpoints/${ep.body.id}/deliveries?limit=100`, { token: u.token })).body.data;
      return log.length === 30 && log.every((d) => d.status === 'succeeded');
    }, 10000);
  } finally {
    await rx.close();
  }
});

test('a tenant moved to another cell is served from there by every node when the move returns', { skip }, async () => {
  const u = await n1.signup();
  const ids = [];
  for (let i = 0; i < 4; i++) ids.push((await (i % 2 ? n2 : n1).post('/v1/members', member(), { token: u.token })).body.id);
  // both nodes have the tenant's home cached before the move
  for (const n of [n1, n2]) assert.equal((await n.get(`/v1/members/${ids[0]}`, { token: u.token })).status, 200);
  let r = n1.cli('cell', 'add', 'mn', '--kind', 'schema');
  assert.equal(r.status, 0, r.stderr);
  r = n1.cli('tenant', 'move', u.tenant.id, '--to', 'mn');
  assert.equal(r.status, 0, r.stderr);
  // both nodes heard of the move (Redis, or the directory counter): writes land in the new cell
  for (const [i, n] of [n1, n2].entries()) {
    const w = await n.post('/v1/members', member(), { token: u.token });
    assert.equal(w.status, 201, `node ${i + 1}: ${w.text}`);
    ids.push(w.body.id);
    assert.equal((await n.get('/v1/tenant', { token: u.token })).body.cell, 'mn');
    const list = await n.get('/v1/members?limit=100&include_total=true', { token: u.token });
    assert.equal(list.body.total, ids.length, `node ${i + 1}`);
  }
  const inCell = spawnSync('psql', [n1.env.PLINTH_MIGRATE_URL, '-qAtX', '-c',
    `SELECT count(*) FROM cell_mn.members WHERE tenant_id = '${u.tenant.id}'`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(Number(inCell), ids.length);
  assert.equal(n1.sql(`SELECT count(*) FROM public.members WHERE tenant_id = '${u.tenant.id}'`), '0');
});
