'use strict';
// GET /v1/stream: the tenant's events live as Server-Sent Events; Last-Event-ID resumes.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem, unique, openStream, until: untilTrue } = require('./helpers');

let s;
before(async () => { s = await startServer(); });
after(async () => { await s.stop(); });

const open = (token, lastEventId) => openStream(s, token, lastEventId);
const until = (fn, ms = 5000) => untilTrue(fn, ms);

test('events arrive live, only the tenant\'s own; a reconnect with Last-Event-ID gets what it missed', async () => {
  const a = await s.signup();
  const b = await s.signup();
  const sa = await open(a.token);
  const sb = await open(b.token);
  assert.equal(sa.res.status, 200);
  assert.match(sa.res.headers.get('content-type'), /^text\/event-stream/);
  const m1 = (await s.post('/v1/members', { first_name: 'Live', last_name: 'One', email: `${unique('l')}@example.com` }, { token: a.token })).body;
  await until(() => sa.events.length >= 1);
  assert.equal(sa.events[0].event, 'member.created');
  assert.equal(sa.events[0].data.id, m1.id);
  assert.match(sa.events[0].id, /^evt_/);
  sa.close();
  const m2 = (await s.post('/v1/members', { first_name: 'Missed', last_name: 'Two', email: `${unique('l')}@example.com` }, { token: a.token })).body;
  await s.patch(`/v1/members/${m2.id}`, { status: 'inactive' }, { token: a.token });
  const again = await open(a.token, sa.events[0].id);
  await until(() => again.events.length >= 2);
  assert.deepEqual(again.events.map((e) => e.event), ['member.created', 'member.updated']);
  assert.equal(again.events[0].data.id, m2.id);
  const m3 = (await s.post('/v1/members', { first_name: 'Live', last_name: 'Three', email: `${unique('l')}@example.com` }, { token: a.token })).body;
  await until(() => again.events.length >= 3);
  assert.equal(again.events[2].data.id, m3.id);
  again.close();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(sb.events.length, 0, 'tenant B saw tenant A\'s events');
  sb.close();
});

test('the stream needs a credential and a valid Last-Event-ID of the tenant', async () => {
  assertProblem(await s.get('/v1/stream'), 401);
  const a = await s.signup();
  const b = await s.signup();
  const ev = (await s.get('/v1/events', { token: a.token })).body.data[0];
  assertProblem(await s.get('/v1/stream', { token: b.token, headers: { 'last-event-id': ev.id } }), 422);
  assertProblem(await s.get('/v1/stream', { token: b.token, headers: { 'last-event-id': 'nonsense' } }), 422);
});

test('a server with open streams stops cleanly', async () => {
  const t = await startServer();
  const u = await t.signup();
  const res = await fetch(`${t.url}/v1/stream`, { headers: { authorization: `Bearer ${u.token}` } });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  await reader.read();
  await t.stop();
  for (;;) {
    const { done } = await reader.read().catch(() => ({ done: true }));
    if (done) break;
  }
});
