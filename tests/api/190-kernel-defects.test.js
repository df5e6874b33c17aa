'use strict';
// Regressions for the defects acceptance testing found (issue 10): request smuggling, auth
// guessing, suspended logins, pending owners, totals, literal filters, plan entries that
// gate nothing, the commit step's guard.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer, assertProblem, unique, operator } = require('./helpers');

let s;
before(async () => { s = await startServer({ env: { PLINTH_ALLOW_PRIVATE_WEBHOOKS: 'on' } }); });
after(async () => { await s.stop(); });

// Sends raw bytes on one connection and collects everything until the server closes it (or
// a second passes).
function rawExchange(server, text) {
  return new Promise((resolve, reject) => {
    const [host, port] = server.address.split(':');
    const sock = net.connect(Number(port), host);
    let got = '';
    const timer = setTimeout(() => { sock.destroy(); resolve({ got, closed: false }); }, 1500);
    sock.on('data', (d) => { got += d.toString(); });
    sock.on('end', () => { clearTimeout(timer); resolve({ got, closed: true }); });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.write(text);
  });
}

test('two different Content-Length values: 400 bad_framing, the connection closes, the hidden request never runs', async () => {
  const u = await s.signup();
  const hidden = `DELETE /v1/api-keys/key_x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${u.token}\r\n\r\n`;
  const r = await rawExchange(s, `POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`
    + `Content-Length: 0\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`);
  assert.match(r.got, /^HTTP\/1\.1 400 /);
  assert.match(r.got, /"code":"bad_framing"/);
  assert.equal((r.got.match(/HTTP\/1\.1 /g) || []).length, 1, `one answer only:\n${r.got}`);
  assert.ok(r.closed, 'the connection is closed');
});

test('Content-Length with Transfer-Encoding: 400 bad_framing and closed', async () => {
  const body = '0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
  const r = await rawExchange(s, `POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`
    + `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
  assert.match(r.got, /^HTTP\/1\.1 400 /);
  assert.match(r.got, /"code":"bad_framing"/);
  assert.equal((r.got.match(/HTTP\/1\.1 /g) || []).length, 1, `one answer only:\n${r.got}`);
  assert.ok(r.closed);
  // an ordinary request on a fresh connection still works, with one length or chunked
  const ok = await rawExchange(s, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(ok.got, /^HTTP\/1\.1 200 /);
  const chunked = await rawExchange(s, 'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
    + 'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n');
  assert.match(chunked.got, /^HTTP\/1\.1 422 /);
});

test('failed authentications are throttled per IP: guessing gets 429 before the credential is checked', async () => {
  const t = await startServer({ env: { PLINTH_RATE_LIMIT_AUTH: '0.01:3' } });
  try {
    const u = await t.signup();
    for (let i = 0; i < 3; i++) {
      assertProblem(await t.post('/v1/auth/login', { email: u.email, password: `wrong-guess-${i}-xx` }), 401);
    }
    const blocked = assertProblem(await t.post('/v1/auth/login', { email: u.email, password: u.password }), 429,
      'too_many_auth_failures');
    assert.match(blocked.detail, /retry in \d+ s/);
    // bad bearer tokens drain the same bucket; requests without a credential are not refused
    assertProblem(await t.get('/v1/me', { token: 'not-a-token' }), 429, 'too_many_auth_failures');
    assert.equal((await t.get('/healthz')).status, 200);
  } finally {
    await t.stop();
  }
});

test('a suspended organization cannot log in; an active one of the same user still can', async () => {
  const op = await operator(s);
  const O = await s.signup();
  assert.equal((await s.post(`/v1/admin/tenants/${O.tenant.id}/suspend`, { reason: 'x' }, { token: op.token })).status, 200);
  assertProblem(await s.post('/v1/auth/login', { email: O.email, password: O.password }), 403, 'tenant_suspended');
  // the same user in a second, active organization logs into that one
  const other = (await s.post('/v1/admin/tenants', { name: 'Second', owner_email: O.email }, { token: op.token })).body;
  const login = await s.post('/v1/auth/login', { email: O.email, password: O.password });
  assert.equal(login.status, 200, login.text);
  assert.equal(login.body.tenant.id, other.id);
});

test('an organization created for an unknown owner email invites that owner, who joins as owner', async () => {
  const op = await operator(s);
  const email = `${unique('own')}@example.com`;
  const t = await s.post('/v1/admin/tenants', { name: 'Pending Owner Co', owner_email: email }, { token: op.token });
  assert.equal(t.status, 201, t.text);
  assert.equal(t.body.owner_pending, email);
  assert.match(t.body.owner_invitation.id, /^inv_/);
  const mail = await s.mailTo(email);
  assert.ok(mail, 'the owner is mailed an invitation');
  const token = /token=(it_[A-Za-z0-9_-]+)/.exec(mail.body)[1];
  const acc = await s.post('/v1/invitations/accept', { token, password: 'owner-passphrase-22', name: 'Owner' });
  assert.equal(acc.status, 200, acc.text);
  assert.equal(acc.body.tenant.id, t.body.id);
  assert.equal(acc.body.role, 'owner');
  // the invitation is in the new organization's audit log and events
  const log = await s.get('/v1/audit-logs?action=user.invited', { token: acc.body.access_token });
  assert.equal(log.body.data.length, 1);
  assert.equal(log.body.data[0].actor.type, 'operator');
});

test('include_total works on events, audit logs and notifications', async () => {
  const u = await s.signup();
  await s.patch('/v1/tenant', { name: 'Counted' }, { token: u.token });
  const ev = await s.get('/v1/events?include_total=true&limit=1', { token: u.token });
  assert.equal(ev.body.total, 2); // tenant.created, tenant.updated
  assert.equal(ev.body.data.length, 1);
  assert.equal(ev.body.has_more, true);
  const next = await s.get(`/v1/events?limit=1&cursor=${encodeURIComponent(ev.body.next_cursor)}`, { token: u.token });
  assert.equal(next.body.data[0].type, 'tenant.updated');
  const log = await s.get('/v1/audit-logs?include_total=true&action=tenant', { token: u.token });
  assert.equal(log.body.total, 1);
  const n = await s.get('/v1/notifications?include_total=true', { token: u.token });
  assert.equal(n.status, 200, n.text);
  assert.equal(n.body.total, 0);
  assert.ok(!('total' in (await s.get('/v1/events', { token: u.token })).body), 'no total unless asked');
});

test('type and action filters match literally; "x.*" is the documented prefix form', async () => {
  const u = await s.signup();
  await s.patch('/v1/tenant', { name: 'Literal' }, { token: u.token });
  for (const q of ['%', '_%', 'tenant%', 'tenant._pdated']) {
    const ev = await s.get(`/v1/events?type=${encodeURIComponent(q)}`, { token: u.token });
    assert.equal(ev.body.data.length, 0, `type=${q} is not a pattern`);
    const log = await s.get(`/v1/audit-logs?action=${encodeURIComponent(q)}`, { token: u.token });
    assert.equal(log.body.data.length, 0, `action=${q} is not a pattern`);
  }
  assert.equal((await s.get('/v1/events?type=tenant.*', { token: u.token })).body.data.length, 2);
  assert.equal((await s.get('/v1/events?type=tenant', { token: u.token })).body.data.length, 2);
  assert.equal((await s.get('/v1/events?type=tenant.updated', { token: u.token })).body.data.length, 1);
  assert.equal((await s.get('/v1/events?type=tenan', { token: u.token })).body.data.length, 0);
  assert.equal((await s.get('/v1/audit-logs?action=tenant.*', { token: u.token })).body.data.length, 1);
});

test('plan entries that gate nothing are marked; custom_domain is enforced', async () => {
  const u = await s.signup();
  const t = (await s.get('/v1/tenant', { token: u.token })).body;
  assert.equal(t.features.custom_domain, false);
  assertProblem(await s.patch('/v1/tenant', { settings: { domain: 'members.example.com' } }, { token: u.token }), 403,
    'feature_not_enabled');
  assert.equal((await s.patch('/v1/tenant', { settings: { domain: null } }, { token: u.token })).status, 200);
  // metered limits are enforced and show their usage; the others say so
  assert.equal(t.limits.members.enforced, true);
  assert.equal(t.limits.members.usage, 0);
  assert.equal(t.limits.api_calls_per_day.enforced, true);
  assert.equal(t.limits.products.enforced, false);
  assert.equal(t.limits.products.usage, null);
  assert.equal(t.limits.storage_mb.enforced, false);
  for (const f of ['sso', 'ai_search', 'ai_descriptions', 'recommendations']) assert.ok(t.features_not_enforced.includes(f), f);
  for (const f of ['basic_analytics', 'custom_domain']) assert.ok(!t.features_not_enforced.includes(f), f);
  // an operator grants the feature: the domain is accepted
  const op = await operator(s);
  const g = await s.patch(`/v1/admin/tenants/${u.tenant.id}`, { overrides: { features: { custom_domain: true } } }, { token: op.token });
  assert.equal(g.status, 200, g.text);
  const login = await s.post('/v1/auth/login', { email: u.email, password: u.password });
  const ok = await s.patch('/v1/tenant', { settings: { domain: 'members.example.com' } }, { token: login.body.access_token });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.settings.domain, 'members.example.com');
});

test('creating a webhook endpoint is an event and an audit entry like every mutation', async () => {
  const u = await s.signup();
  const ep = await s.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', events: ['member.*'] }, { token: u.token });
  assert.equal(ep.status, 201, ep.text);
  const ev = (await s.get('/v1/events?type=webhook_endpoint', { token: u.token })).body.data;
  assert.deepEqual(ev.map((e) => e.type), ['webhook_endpoint.created']);
  assert.equal(ev[0].data.id, ep.body.id);
  assert.equal(ev[0].data.secret, '[redacted]');
  const log = (await s.get(`/v1/audit-logs?resource_id=${ep.body.id}`, { token: u.token })).body.data;
  assert.equal(log.length, 1);
  assert.ok(!JSON.stringify(log).includes(ep.body.secret), 'the signing secret stays out of the log');
});

test('removing the newest audit entries is found by plinth audit verify, not only edits', async () => {
  const u = await s.signup();
  await s.patch('/v1/tenant', { name: 'Chained' }, { token: u.token });
  await s.patch('/v1/tenant', { name: 'Chained again' }, { token: u.token });
  const ok = s.cli('audit', 'verify', '--tenant', u.tenant.id);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  s.sql(`DELETE FROM audit_log WHERE tenant_id = '${u.tenant.id}' AND seq = (SELECT MAX(seq) FROM audit_log WHERE tenant_id = '${u.tenant.id}')`);
  const bad = s.cli('audit', 'verify', '--tenant', u.tenant.id);
  assert.equal(bad.status, 1, bad.stdout);
  assert.match(bad.stdout, /entries were removed/);
});
