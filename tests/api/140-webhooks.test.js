'use strict';
// Webhooks: signed per Standard Webhooks (verified by its reference library), retried, logged,
// durable across kill -9, and never aimed at private addresses unless the operator allows it.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Webhook } = require('standardwebhooks');
const { startServer, assertProblem, unique, receiver, until } = require('./helpers');

const env = { PLINTH_ALLOW_PRIVATE_WEBHOOKS: '1', PLINTH_WEBHOOK_RETRIES: '1,1,1' };
let s;
before(async () => { s = await startServer({ env }); });
after(async () => { await s.stop(); });

test('a member.created event reaches the endpoint, signed so that standardwebhooks verifies it', async () => {
  const rx = await receiver();
  try {
    const u = await s.signup();
    const ep = await s.post('/v1/webhook-endpoints', { url: rx.url, events: ['member.*'], description: 'crm' }, { token: u.token });
    assert.equal(ep.status, 201, ep.text);
    assert.match(ep.body.secret, /^whsec_[A-Za-z0-9+/]{40,}={0,2}$/);
    assert.equal((await s.get(`/v1/webhook-endpoints/${ep.body.id}`, { token: u.token })).body.secret, undefined);
    const m = await s.post('/v1/members', { first_name: 'Web', last_name: 'Hook', email: `${unique('w')}@example.com` }, { token: u.token });
    await s.post('/v1/membership-types', { name: 'Not sent', price: { amount: 1, currency: 'EUR' }, interval: 'month' }, { token: u.token });
    const msg = await until(() => rx.got[0]);
    const wh = new Webhook(ep.body.secret);
    const payload = wh.verify(msg.body, { 'webhook-id': msg.headers['webhook-id'], 'webhook-timestamp': msg.headers['webhook-timestamp'], 'webhook-signature': msg.headers['webhook-signature'] });
    assert.equal(payload.type, 'member.created');
    assert.equal(payload.data.id, m.body.id);
    assert.match(payload.id, /^evt_/);
    assert.equal(msg.headers['webhook-id'], payload.id);
    // a tampered body does not verify
    assert.throws(() => wh.verify(msg.body.replace('Web', 'Bad'), msg.headers));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(rx.got.length, 1, 'membership_type.created matched member.* ?');
    const log = await s.get(`/v1/webhook-endpoints/${ep.body.id}/deliveries`, { token: u.token });
    assert.equal(log.body.data[0].status, 'succeeded');
    assert.equal(log.body.data[0].response_status, 204);
    assert.equal(log.body.data[0].attempts, 1);
    // replay sends it again, with the same webhook-id
    const ev = (await s.get('/v1/events?type=member.created', { token: u.token })).body.data[0];
    assert.equal((await s.post(`/v1/events/${ev.id}/replay`, {}, { token: u.token })).status, 202);
    const again = await until(() => rx.got[1]);
    assert.equal(again.headers['webhook-id'], ev.id);
  } finally {
    await rx.close();
  }
});

test('a receiver that fails twice gets the event on the third attempt; the log shows it', async () => {
  const rx = await receiver({ failFirst: 2 });
  try {
    const u = await s.signup();
    const ep = (await s.post('/v1/webhook-endpoints', { url: rx.url, events: ['tenant.*'] }, { token: u.token })).body;
    await s.patch('/v1/tenant', { name: 'Retry Co' }, { token: u.token });
    await until(() => rx.got.find((g) => JSON.parse(g.body).type === 'tenant.updated'));
    const d = await until(async () => {
      const l = (await s.get(`/v1/webhook-endpoints/${ep.id}/deliveries`, { token: u.token })).body.data;
      const x = l.find((y) => y.event_type === 'tenant.updated');
      return x && x.status === 'succeeded' ? x : null;
    });
    assert.equal(d.attempts, 3);
    assert.equal(rx.calls(), 3);
  } finally {
    await rx.close();
  }
});

test('a delivery that never succeeds fails after the schedule, and can be retried by hand', async () => {
  const rx = await receiver({ failFirst: 4 });
  try {
    const u = await s.signup();
    const ep = (await s.post('/v1/webhook-endpoints', { url: rx.url, events: ['tenant.updated'] }, { token: u.token })).body;
    await s.patch('/v1/tenant', { name: 'Doomed' }, { token: u.token });
    const d = await until(async () => {
      const x = (await s.get(`/v1/webhook-endpoints/${ep.id}/deliveries`, { token: u.token })).body.data[0];
      return x && x.status === 'failed' ? x : null;
    });
    assert.equal(d.attempts, 4);
    assert.equal(d.response_status, 500);
    assert.ok((await s.get(`/v1/webhook-endpoints/${ep.id}`, { token: u.token })).body.failing_since);
    const r = await s.post(`/v1/webhook-deliveries/${d.id}/retry`, {}, { token: u.token });
    assert.equal(r.status, 202, r.text);
    await until(async () => (await s.get(`/v1/webhook-endpoints/${ep.id}/deliveries`, { token: u.token })).body.data[0].status === 'succeeded');
    assert.equal((await s.get(`/v1/webhook-endpoints/${ep.id}`, { token: u.token })).body.failing_since, null);
  } finally {
    await rx.close();
  }
});

test('endpoints: validation, rotate, disable, delete, plan limit', async () => {
  const u = await s.signup();
  assertProblem(await s.post('/v1/webhook-endpoints', { url: 'ftp://example.com/x', events: ['*'] }, { token: u.token }), 422);
  assertProblem(await s.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1/x', events: ['Bad Type'] }, { token: u.token }), 422);
  assertProblem(await s.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1/x', events: [] }, { token: u.token }), 422);
  const a = (await s.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/a', events: ['*'] }, { token: u.token })).body;
  const rot = await s.post(`/v1/webhook-endpoints/${a.id}/rotate-secret`, {}, { token: u.token });
  assert.notEqual(rot.body.secret, a.secret);
  const off = await s.patch(`/v1/webhook-endpoints/${a.id}`, { status: 'disabled' }, { token: u.token });
  assert.equal(off.body.status, 'disabled');
  await s.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/b', events: ['*'] }, { token: u.token });
  assertProblem(await s.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/c', events: ['*'] }, { token: u.token }), 403, 'limit_exceeded');
  assert.equal((await s.del(`/v1/webhook-endpoints/${a.id}`, { token: u.token })).status, 204);
  assertProblem(await s.get(`/v1/webhook-endpoints/${a.id}`, { token: u.token }), 404);
  const list = await s.get('/v1/webhook-endpoints?include_total=true', { token: u.token });
  assert.equal(list.body.total, 1);
});

test('private and metadata addresses are refused without --allow-private-webhooks', async () => {
  const strict = await startServer();
  try {
    const u = await strict.signup();
    for (const url of ['http://127.0.0.1:8080/x', 'http://localhost/x', 'http://10.0.0.5/x', 'http://169.254.169.254/latest/meta-data',
      'http://[::1]/x', 'http://192.168.1.1/x', 'http://0.0.0.0/x']) {
      const p = assertProblem(await strict.post('/v1/webhook-endpoints', { url, events: ['*'] }, { token: u.token }), 422);
      assert.equal(p.errors[0].field, 'url', url);
    }
  } finally {
    await strict.stop();
  }
});

test('an event committed before a kill -9 is still delivered after the restart', async () => {
  // the kill lands while the first attempt hangs in flight: its lease (3 s here), no longer
  // renewed by the dead process, runs out and the restarted one sends the event
  const lease = { ...env, PLINTH_WEBHOOK_LEASE: '3' };
  const d = await startServer({ env: lease });
  const rx0 = await receiver({ hang: true });
  const port = rx0.port;
  const u = await d.signup();
  const ep = (await d.post('/v1/webhook-endpoints', { url: `http://127.0.0.1:${port}/hook`, events: ['member.created'] }, { token: u.token })).body;
  const m = (await d.post('/v1/members', { first_name: 'Dur', last_name: 'Able', email: `${unique('d')}@example.com` }, { token: u.token })).body;
  await until(() => rx0.calls() >= 1);
  await d.kill9();
  await rx0.close();
  const rx = await receiver({ port });
  const t0 = Date.now();
  const again = await startServer({ env: lease, dataDir: d.dataDir });
  try {
    const msg = await until(() => rx.got[0]);
    console.log(`delivered ${Date.now() - t0} ms after the restart began (lease 3 s)`);
    assert.equal(JSON.parse(msg.body).data.id, m.id);
    const dl = (await again.get(`/v1/webhook-endpoints/${ep.id}/deliveries`, { token: u.token })).body.data;
    assert.equal(dl.length, 1);
  } finally {
    await again.stop();
    await rx.close();
  }
});

test('an endpoint receives a tenant\'s events in their order, one at a time', async () => {
  const rx = await receiver();
  try {
    const u = await s.signup();
    await s.post('/v1/webhook-endpoints', { url: rx.url, events: ['member.created'] }, { token: u.token });
    // written from several clients at once: the order is the tenant's commit order
    const made = await Promise.all(Array.from({ length: 24 }, (_, i) => s.post('/v1/members',
      { first_name: `Or${i}`, last_name: 'Der', email: `${unique('o')}@example.com` }, { token: u.token })));
    await until(() => rx.got.length >= 24);
    const seqs = (await s.get('/v1/events?type=member.created&limit=100', { token: u.token })).body.data;
    const order = new Map(seqs.map((e) => [e.id, e.sequence]));
    const got = rx.got.map((g) => order.get(JSON.parse(g.body).id));
    assert.deepEqual(got, [...got].sort((a, b) => a - b), `received out of order: ${got}`);
    assert.equal(new Set(rx.got.map((g) => g.headers['webhook-id'])).size, made.length);
  } finally {
    await rx.close();
  }
});

test('an endpoint that hangs does not hold up the deliveries of another tenant', async () => {
  const slow = await receiver({ hang: true });
  const fast = await receiver();
  try {
    const A = await s.signup();
    await s.post('/v1/webhook-endpoints', { url: slow.url, events: ['tenant.*'] }, { token: A.token });
    for (let i = 0; i < 6; i++) await s.patch('/v1/tenant', { name: `Slow ${i}` }, { token: A.token });
    await until(() => slow.calls() >= 1); // A's deliveries are in flight and hang
    const B = await s.signup();
    await s.post('/v1/webhook-endpoints', { url: fast.url, events: ['tenant.*'] }, { token: B.token });
    const t0 = Date.now();
    await s.patch('/v1/tenant', { name: 'Fast' }, { token: B.token });
    await until(() => fast.got.find((g) => JSON.parse(g.body).type === 'tenant.updated'), 10000);
    const ms = Date.now() - t0;
    console.log(`another tenant's delivery arrived ${ms} ms after its change, behind a hanging endpoint`);
    // the sender waits up to 15 s for the hanging endpoint; B's event must not wait behind it
    assert.ok(ms < 3000, `another tenant's delivery took ${ms} ms behind a hanging endpoint`);
    assert.equal(slow.calls(), 1, 'one transfer to an endpoint at a time');
  } finally {
    await slow.close();
    await fast.close();
  }
});

test('a pending delivery waiting for its next attempt can be retried now', async () => {
  const slow = await startServer({ env: { ...env, PLINTH_WEBHOOK_RETRIES: '3600,3600' } });
  const rx = await receiver({ failFirst: 1 });
  try {
    const u = await slow.signup();
    const ep = (await slow.post('/v1/webhook-endpoints', { url: rx.url, events: ['tenant.updated'] }, { token: u.token })).body;
    await slow.patch('/v1/tenant', { name: 'Pending Co' }, { token: u.token });
    const d = await until(async () => {
      const x = (await slow.get(`/v1/webhook-endpoints/${ep.id}/deliveries`, { token: u.token })).body.data[0];
      return x && x.attempts === 1 && x.status === 'pending' ? x : null; // next attempt in an hour
    });
    const r = await slow.post(`/v1/webhook-deliveries/${d.id}/retry`, {}, { token: u.token });
    assert.equal(r.status, 202, r.text);
    const done = await until(async () => {
      const x = (await slow.get(`/v1/webhook-endpoints/${ep.id}/deliveries`, { token: u.token })).body.data[0];
      return x && x.status === 'succeeded' ? x : null;
    }, 5000);
    assert.equal(done.attempts, 2);
  } finally {
    await rx.close();
    await slow.stop();
  }
});
