'use strict';
// Mail leaves over real SMTP (a local smtp-server), and the link in an invitation works.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, unique, SmtpSink } = require('./helpers');

const sink = new SmtpSink();
let s;

before(async () => {
  await sink.listen();
  s = await startServer({ env: { PLINTH_SMTP_URL: sink.url, PLINTH_SMTP_FROM: 'Plinth <hello@plinth.test>', PLINTH_JOB_BACKOFF_MS: '500' } });
});
after(async () => {
  await s.stop();
  await sink.close();
});

const mailFor = (addr, ms) => sink.mailFor(addr, ms);

test('an invitation arrives over SMTP and its token joins the organization', async () => {
  const o = await s.signup({ organization: 'Ünïcode Gym' });
  const email = `${unique('smtp')}@example.com`;
  const inv = await s.post('/v1/invitations', { email, role: 'editor' }, { token: o.token });
  assert.equal(inv.status, 201);
  const mail = await mailFor(email);
  assert.equal(mail.from, 'hello@plinth.test');
  assert.match(mail.raw, /^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=/m);
  assert.match(mail.raw, /Content-Type: text\/plain; charset=utf-8/);
  const token = mail.raw.match(/token=(it_[A-Za-z0-9_-]+)/)[1];
  const acc = await s.post('/v1/invitations/accept', { token, password: 'smtp-passphrase-123', name: 'Mailed' });
  assert.equal(acc.status, 200, acc.text);
  assert.equal(acc.body.role, 'editor');
  // the signup's verification message went out too
  const v = await mailFor(o.email);
  assert.match(v.raw, /Subject: Confirm your email address/);
});

test('mail is retried when the SMTP server is away', async () => {
  const port = sink.port;
  await sink.close();
  const o = await s.signup();
  await new Promise((r) => setTimeout(r, 500));
  await sink.listen(port);
  const m = await mailFor(o.email, 30000);
  assert.match(m.raw, /Confirm your email address/);
});
