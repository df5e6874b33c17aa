'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem } = require('./helpers');

let s;
before(async () => { s = await startServer(); });
after(async () => { await s.stop(); });

test('healthz and readyz answer', async () => {
  const h = await s.get('/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.body.status, 'ok');
  const r = await s.get('/readyz');
  assert.equal(r.status, 200);
  assert.deepEqual({ status: r.body.status, migrations: r.body.migrations }, { status: 'ready', migrations: 'current' });
});

test('unknown route is a 404 problem, wrong method a 405 with Allow', async () => {
  const nf = assertProblem(await s.get('/v1/nothing-here'), 404, 'not_found');
  assert.match(nf.request_id, /^req_[0-9a-z]{26}$/);
  const m = assertProblem(await s.req('PUT', '/v1/auth/login'), 405, 'method_not_allowed');
  assert.ok(m.detail.includes('POST'));
});

test('request id: a well-formed X-Request-Id is echoed, a bad one replaced', async () => {
  const ok = await s.get('/healthz', { headers: { 'x-request-id': 'abc-123.DEF:9' } });
  assert.equal(ok.headers.get('x-request-id'), 'abc-123.DEF:9');
  const bad = await s.get('/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
  assert.match(bad.headers.get('x-request-id'), /^req_/);
});

test('the access log has one JSON line per request with request id, route, status and duration', async () => {
  await s.get('/healthz', { headers: { 'x-request-id': 'log-check-1' } });
  await new Promise((r) => setTimeout(r, 50));
  const line = s.lines.find((l) => l.msg === 'request' && l.request_id === 'log-check-1');
  assert.ok(line, 'no access log line');
  assert.equal(line.route, '/healthz');
  assert.equal(line.status, 200);
  assert.equal(typeof line.duration_ms, 'number');
  assert.ok('tenant_id' in line);
});

test('openapi.json lists every route the router serves', async () => {
  const r = await s.get('/openapi.json');
  assert.equal(r.status, 200);
  assert.equal(r.body.openapi, '3.1.0');
  const expected = [
    ['post', '/v1/auth/signup'], ['post', '/v1/auth/login'], ['post', '/v1/auth/refresh'], ['post', '/v1/auth/logout'],
    ['get', '/v1/me'], ['get', '/v1/roles'], ['post', '/v1/api-keys'], ['get', '/v1/api-keys'],
    ['get', '/v1/api-keys/{id}'], ['delete', '/v1/api-keys/{id}'], ['get', '/v1/team'], ['patch', '/v1/team/{user_id}'],
    ['delete', '/v1/team/{user_id}'], ['post', '/v1/invitations'], ['get', '/v1/invitations'],
    ['post', '/v1/invitations/accept'], ['get', '/v1/tenant'], ['patch', '/v1/tenant'], ['get', '/v1/admin/tenants'],
    ['post', '/v1/admin/tenants'], ['get', '/v1/admin/tenants/{id}'], ['post', '/v1/admin/tenants/{id}/suspend'],
    ['post', '/v1/admin/tenants/{id}/reactivate'], ['get', '/.well-known/jwks.json'], ['get', '/healthz'],
    ['get', '/readyz'], ['get', '/openapi.json'],
  ];
  for (const [m, p] of expected) assert.ok(r.body.paths[p] && r.body.paths[p][m], `${m} ${p} missing from openapi.json`);
  // and every documented operation really is routed (not a 404)
  for (const [p, ops] of Object.entries(r.body.paths)) {
    if (p === '/v1/stream') continue; // a long-lived stream, checked in 150-stream
    for (const m of Object.keys(ops)) {
      const url = p.replace(/\{[^}]+\}/g, 'x');
      const res = await s.req(m.toUpperCase(), url);
      assert.notEqual(res.body && res.body.code, 'not_found', `${m} ${p} is documented but not routed`);
      assert.notEqual(res.status, 405, `${m} ${p} is documented but not routed`);
    }
  }
});

test('JWKS publishes one EdDSA public key without private parts', async () => {
  const r = await s.get('/.well-known/jwks.json');
  assert.equal(r.status, 200);
  assert.equal(r.body.keys.length, 1);
  const k = r.body.keys[0];
  assert.equal(k.kty, 'OKP');
  assert.equal(k.crv, 'Ed25519');
  assert.ok(k.kid);
  assert.ok(!('d' in k), 'private key leaked');
});
