'use strict';
// The scheduler: two server processes on one database run each periodic task once per period
// (a lease in scheduled_tasks), and the first tasks do their work — outbox cleanup keeps the
// newest event of each tenant so sequences go on, expired refresh tokens are removed.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, operator } = require('./helpers');

const PERIOD = 300;
const env = {
  PLINTH_TASK_PERIODS: `jobs.reap=${PERIOD},outbox.cleanup=${PERIOD},tokens.cleanup=${PERIOD}`,
  PLINTH_SCHEDULER_TICK_MS: '20',
};
let s1;
let s2;
let op;

before(async () => {
  s1 = await startServer({ env });
  s2 = await startServer({ dataDir: s1.dataDir, env });
  op = await operator(s1);
});
after(async () => {
  await s2.stop({ keepData: true });
  await s1.stop();
});

test('two processes on one database run a task once per period', async () => {
  const tasks = async () => {
    const r = await s1.get('/v1/admin/scheduler', { token: op.token });
    assert.equal(r.status, 200, r.text);
    return Object.fromEntries(r.body.data.map((t) => [t.name, t]));
  };
  const first = await tasks();
  for (const name of ['jobs.reap', 'jobs.cleanup', 'outbox.cleanup', 'tokens.cleanup', 'idempotency.cleanup']) {
    assert.ok(first[name], `${name} is scheduled`);
  }
  assert.equal(first['jobs.reap'].period_ms, PERIOD);
  assert.equal(first['jobs.cleanup'].period_ms, 3600000);
  const owners = new Set();
  const t0 = Date.now();
  while (Date.now() - t0 < 3000) {
    const t = await tasks();
    if (t['jobs.reap'].last_owner) owners.add(t['jobs.reap'].last_owner);
    await new Promise((r) => setTimeout(r, 40));
  }
  const last = await tasks();
  const elapsed = Date.now() - t0;
  const runs = last['jobs.reap'].runs - first['jobs.reap'].runs;
  // once per period: two processes each running it would make about twice as many
  assert.ok(runs <= Math.ceil(elapsed / PERIOD) + 1, `${runs} runs in ${elapsed} ms`);
  assert.ok(runs >= Math.floor(elapsed / PERIOD) - 2, `${runs} runs in ${elapsed} ms`);
  assert.equal(last['jobs.reap'].last_status, 'ok');
  assert.ok(owners.size >= 1);
  // both processes hold the same view: the other one answers with the same schedule
  const other = (await s2.get('/v1/admin/scheduler', { token: op.token })).body.data.find((t) => t.name === 'jobs.reap');
  assert.ok(other.runs >= last['jobs.reap'].runs);
  // operators see queue depths of every tenant; tenants cannot
  assert.equal((await s1.get('/v1/admin/jobs', { token: op.token })).status, 200);
  const u = await s1.signup();
  assert.equal((await s1.get('/v1/admin/scheduler', { token: u.token })).status, 403);
});

test('outbox cleanup removes old delivered events but keeps each tenant\'s newest', async () => {
  const u = await s1.signup();
  for (let i = 0; i < 3; i++) {
    assert.equal((await s1.post('/v1/members', { first_name: 'Old', last_name: `E${i}`, email: `old${i}${Date.now()}@example.com` }, { token: u.token })).status, 201);
  }
  const before = (await s1.get('/v1/events', { token: u.token })).body.data;
  assert.equal(before.length, 4); // tenant.created + 3 × member.created
  // the dispatcher passes them, then they are made older than the retention
  for (let i = 0; i < 100; i++) {
    const cur = Number(s1.sql("SELECT last_seq FROM dispatch_cursor WHERE name = 'webhooks'"));
    const max = Number(s1.sql('SELECT max(seq) FROM events'));
    if (cur >= max) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  s1.sql(`UPDATE events SET occurred_at = 0 WHERE tenant_id = '${u.tenant.id}'`);
  let left;
  for (let i = 0; i < 100; i++) {
    left = (await s1.get('/v1/events', { token: u.token })).body.data;
    if (left.length === 1) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(left.length, 1);
  assert.equal(left[0].id, before[3].id);
  // the sequence goes on from there
  await s1.post('/v1/members', { first_name: 'New', last_name: 'E', email: `new${Date.now()}@example.com` }, { token: u.token });
  const after = (await s1.get('/v1/events', { token: u.token })).body.data;
  assert.deepEqual(after.map((e) => e.sequence), [4, 5]);
});

test('expired refresh tokens are removed by tokens.cleanup', async () => {
  const u = await s1.signup();
  const count = () => Number(s1.sql(`SELECT count(*) FROM sessions WHERE user_id = '${u.user.id}'`));
  assert.equal(count(), 1);
  s1.sql(`UPDATE sessions SET expires_at = 0 WHERE user_id = '${u.user.id}'`);
  for (let i = 0; i < 100 && count() > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(count(), 0);
  assert.equal((await s1.post('/v1/auth/refresh', { refresh_token: u.refresh })).status, 401);
});
