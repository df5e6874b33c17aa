'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem, unique } = require('./helpers');

let s;
before(async () => { s = await startServer(); });
after(async () => { await s.stop(); });

async function invite(token, role, email = `${unique('new')}@example.com`) {
  const r = await s.post('/v1/invitations', { email, role }, { token });
  assert.equal(r.status, 201, r.text);
  return { ...r.body, email };
}

test('an invitation by email is accepted by a new user, who joins with the invited role', async () => {
  const O = await s.signup();
  const inv = await invite(O.token, 'editor');
  assert.match(inv.id, /^inv_/);
  assert.equal(inv.status, 'pending');
  const mail = await s.mailTo(inv.email);
  assert.ok(mail && mail.body.includes(inv.token), 'invitation mail with the token');
  assertProblem(await s.post('/v1/invitations/accept', { token: inv.token }), 422, 'validation_failed');
  const acc = await s.post('/v1/invitations/accept', { token: inv.token, password: 'joining-passphrase-1', name: 'Newbie' });
  assert.equal(acc.status, 200, acc.text);
  assert.equal(acc.body.tenant.id, O.tenant.id);
  assert.equal(acc.body.role, 'editor');
  // holding the token proves nothing about the address (the inviter saw it): verify by mail
  assert.equal(acc.body.user.email_verified, false);
  const verify = await s.mailTo(inv.email, { after: 1 });
  assert.ok(verify && /verify-email\?token=/.test(verify.body), 'a verification link is mailed');
  const me = await s.get('/v1/me', { token: acc.body.access_token });
  assert.equal(me.body.role, 'editor');
  // single use
  assertProblem(await s.post('/v1/invitations/accept', { token: inv.token, password: 'joining-passphrase-1' }), 422);
  const team = await s.get('/v1/team?include_total=true', { token: O.token });
  assert.equal(team.body.total, 2);
  const list = await s.get('/v1/invitations', { token: O.token });
  assert.equal(list.body.data.find((i) => i.id === inv.id).status, 'accepted');
});

test('an existing user joins a second organization and chooses it at login', async () => {
  const O1 = await s.signup();
  const O2 = await s.signup();
  const inv = await invite(O2.token, 'viewer', O1.email.toUpperCase());
  assertProblem(await s.post('/v1/invitations/accept', { token: inv.token, password: 'not-their-password' }), 401, 'invalid_credentials');
  const acc = await s.post('/v1/invitations/accept', { token: inv.token, password: O1.password });
  assert.equal(acc.status, 200, acc.text);
  assert.equal(acc.body.user.id, O1.user.id);
  const me = await s.get('/v1/me', { token: O1.token });
  assert.equal(me.body.tenants.length, 2);
  const l2 = await s.post('/v1/auth/login', { email: O1.email, password: O1.password, tenant: O2.tenant.slug });
  assert.equal(l2.body.tenant.id, O2.tenant.id);
  assert.equal(l2.body.role, 'viewer');
  const l1 = await s.post('/v1/auth/login', { email: O1.email, password: O1.password, tenant: O1.tenant.id });
  assert.equal(l1.body.tenant.id, O1.tenant.id);
  const stranger = await s.signup();
  assertProblem(await s.post('/v1/auth/login', { email: O1.email, password: O1.password, tenant: stranger.tenant.id }), 401);
});

test('roles: change, limits of rank, and the last owner', async () => {
  const O = await s.signup();
  const admInv = await invite(O.token, 'admin');
  const adm = (await s.post('/v1/invitations/accept', { token: admInv.token, password: 'admin-passphrase-12' })).body;
  const vInv = await invite(O.token, 'viewer');
  const viewer = (await s.post('/v1/invitations/accept', { token: vInv.token, password: 'viewer-passphrase-12' })).body;

  // a viewer reads the team but cannot manage it
  assert.equal((await s.get('/v1/team', { token: viewer.access_token })).status, 200);
  assertProblem(await s.post('/v1/invitations', { email: 'x@example.com', role: 'viewer' }, { token: viewer.access_token }), 403);
  // an admin cannot grant owner, nor touch an owner
  assertProblem(await s.patch(`/v1/team/${viewer.user.id}`, { role: 'owner' }, { token: adm.access_token }), 403);
  assertProblem(await s.patch(`/v1/team/${O.user.id}`, { role: 'viewer' }, { token: adm.access_token }), 403);
  assertProblem(await s.post('/v1/invitations', { email: 'y@example.com', role: 'owner' }, { token: adm.access_token }), 403);
  // an admin promotes the viewer to editor; the change applies to live tokens at once
  const up = await s.patch(`/v1/team/${viewer.user.id}`, { role: 'editor' }, { token: adm.access_token });
  assert.equal(up.status, 200, up.text);
  assert.equal(up.body.role, 'editor');
  assert.equal((await s.get('/v1/me', { token: viewer.access_token })).body.role, 'editor');
  // the last owner can be neither demoted nor removed
  assertProblem(await s.patch(`/v1/team/${O.user.id}`, { role: 'admin' }, { token: O.token }), 409, 'last_owner');
  assertProblem(await s.del(`/v1/team/${O.user.id}`, { token: O.token }), 409, 'last_owner');
  // with a second owner, the first may step down
  assert.equal((await s.patch(`/v1/team/${adm.user.id}`, { role: 'owner' }, { token: O.token })).status, 200);
  assert.equal((await s.patch(`/v1/team/${O.user.id}`, { role: 'admin' }, { token: O.token })).status, 200);
  // removal ends the member's access at once
  assert.equal((await s.del(`/v1/team/${viewer.user.id}`, { token: adm.access_token })).status, 204);
  assertProblem(await s.get('/v1/tenant', { token: viewer.access_token }), 401);
  assertProblem(await s.patch(`/v1/team/${viewer.user.id}`, { role: 'viewer' }, { token: adm.access_token }), 404);
});

test('invitations: revoke, re-invite, already a member', async () => {
  const O = await s.signup();
  const inv = await invite(O.token, 'viewer');
  assert.equal((await s.del(`/v1/invitations/${inv.id}`, { token: O.token })).status, 204);
  assertProblem(await s.del(`/v1/invitations/${inv.id}`, { token: O.token }), 404);
  assertProblem(await s.post('/v1/invitations/accept', { token: inv.token, password: 'some-passphrase-123' }), 422);
  const again = await invite(O.token, 'viewer', inv.email);
  const third = await invite(O.token, 'editor', inv.email);
  assertProblem(await s.post('/v1/invitations/accept', { token: again.token, password: 'some-passphrase-123' }), 422);
  assert.equal((await s.post('/v1/invitations/accept', { token: third.token, password: 'some-passphrase-123' })).status, 200);
  assertProblem(await s.post('/v1/invitations', { email: inv.email, role: 'viewer' }, { token: O.token }), 409, 'already_member');
  assertProblem(await s.post('/v1/invitations', { email: O.email, role: 'viewer' }, { token: O.token }), 409, 'already_member');
});
