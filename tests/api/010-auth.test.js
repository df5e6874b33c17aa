'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jose = require('jose');
const { startServer, assertProblem, unique } = require('./helpers');

let s;
before(async () => { s = await startServer(); });
after(async () => { await s.stop(); });

test('signup creates user, organization and owner role, and returns tokens', async () => {
  const email = `${unique('Mixed')}@Example.COM`;
  const r = await s.post('/v1/auth/signup', { email, password: 'a-Long-enough-passphrase-42', name: 'Ada', organization: 'Ada & Co' });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.user.id, /^usr_[0-9a-z]{26}$/);
  assert.match(r.body.tenant.id, /^ten_[0-9a-z]{26}$/);
  assert.equal(r.body.role, 'owner');
  assert.equal(r.body.user.email_verified, false);
  assert.equal(r.body.expires_in, 900);
  assert.equal(r.body.token_type, 'Bearer');
  assert.match(r.body.refresh_token, /^rt_/);
  assert.match(r.body.user.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  // email is unique case-insensitively
  const dup = await s.post('/v1/auth/signup', { email: email.toLowerCase(), password: 'another-Long-pass-99', name: 'B', organization: 'B' });
  assertProblem(dup, 409, 'email_taken');
});

test('signup validates every field and names each one', async () => {
  const r = await s.post('/v1/auth/signup', { email: 'not-an-email', password: 'short', organization: 5 });
  const p = assertProblem(r, 422, 'validation_failed');
  const fields = p.errors.map((e) => e.field).sort();
  assert.deepEqual(fields, ['email', 'name', 'organization']);
  const weak = await s.post('/v1/auth/signup', { email: `${unique()}@ex.com`, password: 'short', name: 'x', organization: 'y' });
  assert.equal(assertProblem(weak, 422, 'validation_failed').errors[0].field, 'password');
  const common = await s.post('/v1/auth/signup', { email: `${unique()}@ex.com`, password: 'password123', name: 'x', organization: 'y' });
  assert.match(assertProblem(common, 422, 'validation_failed').errors[0].message, /common/);
});

test('access tokens are EdDSA JWTs that jose verifies against the published JWKS', async () => {
  const u = await s.signup();
  const jwks = jose.createLocalJWKSet((await s.get('/.well-known/jwks.json')).body);
  const { payload, protectedHeader } = await jose.jwtVerify(u.token, jwks, { audience: 'plinth', issuer: 'plinth' });
  assert.equal(protectedHeader.alg, 'EdDSA');
  assert.equal(payload.sub, u.user.id);
  assert.equal(payload.tid, u.tenant.id);
  assert.ok(payload.exp - payload.iat === 900);
});

test('login: right password works, wrong password and unknown email look the same', async () => {
  const u = await s.signup();
  const ok = await s.post('/v1/auth/login', { email: u.email.toUpperCase(), password: u.password });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.tenant.id, u.tenant.id);
  assert.ok(ok.body.access_token && ok.body.refresh_token);
  const bad = assertProblem(await s.post('/v1/auth/login', { email: u.email, password: 'wrong-password-123' }), 401, 'invalid_credentials');
  const none = assertProblem(await s.post('/v1/auth/login', { email: `${unique()}@nobody.test`, password: 'wrong-password-123' }), 401, 'invalid_credentials');
  assert.equal(bad.detail, none.detail);
});

test('refresh rotates; a reused refresh token revokes the whole family', async () => {
  const u = await s.signup();
  const r1 = await s.post('/v1/auth/refresh', { refresh_token: u.refresh });
  assert.equal(r1.status, 200, r1.text);
  assert.notEqual(r1.body.refresh_token, u.refresh);
  const me1 = await s.get('/v1/me', { token: r1.body.access_token });
  assert.equal(me1.status, 200);
  // replay the first (used) token: reuse detected
  assertProblem(await s.post('/v1/auth/refresh', { refresh_token: u.refresh }), 401, 'refresh_token_reused');
  // every token of the family is dead now, access and refresh
  assertProblem(await s.post('/v1/auth/refresh', { refresh_token: r1.body.refresh_token }), 401);
  assertProblem(await s.get('/v1/me', { token: r1.body.access_token }), 401, 'unauthorized');
  assertProblem(await s.get('/v1/me', { token: u.token }), 401, 'unauthorized');
  // another login is unaffected
  const again = await s.post('/v1/auth/login', { email: u.email, password: u.password });
  assert.equal((await s.get('/v1/me', { token: again.body.access_token })).status, 200);
});

test('logout ends the session at once', async () => {
  const u = await s.signup();
  assert.equal((await s.get('/v1/me', { token: u.token })).status, 200);
  const out = await s.post('/v1/auth/logout', undefined, { token: u.token });
  assert.equal(out.status, 204, out.text);
  assertProblem(await s.get('/v1/me', { token: u.token }), 401);
  assertProblem(await s.post('/v1/auth/refresh', { refresh_token: u.refresh }), 401);
});

test('/v1/me shows user, tenant, role and permissions; /v1/roles the table', async () => {
  const u = await s.signup();
  const me = await s.get('/v1/me', { token: u.token });
  assert.equal(me.status, 200);
  assert.equal(me.body.user.id, u.user.id);
  assert.equal(me.body.tenant.id, u.tenant.id);
  assert.equal(me.body.role, 'owner');
  assert.ok(me.body.permissions.includes('members:write'));
  assert.ok(!me.body.permissions.some((p) => p.startsWith('platform:')));
  assert.equal(me.body.tenants.length, 1);
  const roles = await s.get('/v1/roles', { token: u.token });
  assert.deepEqual(roles.body.data.map((r) => r.name), ['owner', 'admin', 'editor', 'viewer']);
  const viewer = roles.body.data.find((r) => r.name === 'viewer');
  assert.ok(viewer.permissions.includes('members:read'));
  assert.ok(!viewer.permissions.includes('members:write'));
});

test('unauthenticated, malformed and tampered credentials are 401', async () => {
  const u = await s.signup();
  assertProblem(await s.get('/v1/me'), 401, 'unauthorized');
  assertProblem(await s.get('/v1/me', { headers: { authorization: 'Basic abc' } }), 401);
  assertProblem(await s.get('/v1/me', { token: 'garbage' }), 401);
  const [h, p, sig] = u.token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.tid = 'ten_00000000000000000000000000';
  const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
  assertProblem(await s.get('/v1/me', { token: forged }), 401);
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
  assertProblem(await s.get('/v1/me', { token: none }), 401);
  // re-signed with a key of our own (HS256 and a fresh EdDSA key): refused
  const hs = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('secret-secret-secret-secret-32b!'));
  assertProblem(await s.get('/v1/me', { token: hs }), 401);
  const { privateKey } = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const kid = JSON.parse(Buffer.from(h, 'base64url')).kid;
  const ed = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid }).sign(privateKey);
  assertProblem(await s.get('/v1/me', { token: ed }), 401);
});

test('email verification: the mailed token verifies once', async () => {
  const u = await s.signup();
  const mail = await s.mailTo(u.email);
  assert.ok(mail, 'no verification mail');
  const token = mail.body.match(/token=(ut_[A-Za-z0-9_-]+)/)[1];
  const v = await s.post('/v1/auth/verify-email', { token });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.body.user.email_verified, true);
  assertProblem(await s.post('/v1/auth/verify-email', { token }), 422, 'validation_failed');
  const again = await s.post('/v1/auth/verify-email/request', undefined, { token: u.token });
  assert.equal(again.body.status, 'already_verified');
});

test('password reset: same answer for unknown emails; token works once and ends sessions', async () => {
  const u = await s.signup();
  await s.mailTo(u.email); // the verification mail of signup
  const n = s.mailCount(u.email);
  const unknown = await s.post('/v1/auth/password-reset/request', { email: `${unique()}@nobody.test` });
  const known = await s.post('/v1/auth/password-reset/request', { email: u.email });
  assert.equal(unknown.status, 202);
  assert.deepEqual(unknown.body, known.body);
  const mail = await s.mailTo(u.email, { after: n });
  assert.match(mail.subject, /password/i);
  const token = mail.body.match(/token=(ut_[A-Za-z0-9_-]+)/)[1];
  assertProblem(await s.post('/v1/auth/password-reset', { token, password: 'short' }), 422);
  const ok = await s.post('/v1/auth/password-reset', { token, password: 'brand-new-passphrase-7' });
  assert.equal(ok.status, 200, ok.text);
  assertProblem(await s.get('/v1/me', { token: u.token }), 401);
  assertProblem(await s.post('/v1/auth/password-reset', { token, password: 'another-new-pass-88' }), 422);
  assertProblem(await s.post('/v1/auth/login', { email: u.email, password: u.password }), 401);
  assert.equal((await s.post('/v1/auth/login', { email: u.email, password: 'brand-new-passphrase-7' })).status, 200);
});

test('signup can be switched off by configuration', async () => {
  const off = await startServer({ env: { PLINTH_SIGNUP: 'off' } });
  try {
    assertProblem(await off.post('/v1/auth/signup', { email: 'a@b.co', password: 'a-Long-enough-passphrase-42', name: 'a', organization: 'b' }), 403, 'signup_disabled');
  } finally {
    await off.stop();
  }
});

test('expired access tokens are refused', async () => {
  const short = await startServer({ env: { PLINTH_ACCESS_TTL: '1' } });
  try {
    const u = await short.signup();
    assert.equal((await short.get('/v1/me', { token: u.token })).status, 200);
    await new Promise((r) => setTimeout(r, 2100));
    assertProblem(await short.get('/v1/me', { token: u.token }), 401);
    const r = await short.post('/v1/auth/refresh', { refresh_token: u.refresh });
    assert.equal(r.status, 200);
  } finally {
    await short.stop();
  }
});
