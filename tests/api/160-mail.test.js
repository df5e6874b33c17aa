'use strict';
// Mail leaves over real SMTP (a local smtp-server), and the link in an invitation works.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { SMTPServer } = require('smtp-server');
const { startServer, unique } = require('./helpers');

let smtp;
let port;
const inbox = [];
let s;

before(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (d) => { raw += d; });
      stream.on('end', () => {
        inbox.push({ from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), raw });
        cb();
      });
    },
  });
  await new Promise((r) => smtp.listen(0, '127.0.0.1', r));
  port = smtp.server.address().port;
  s = await startServer({ env: { PLINTH_SMTP_URL: `smtp://127.0.0.1:${port}`, PLINTH_SMTP_FROM: 'Plinth <hello@plinth.test>' } });
});
after(async () => {
  await s.stop();
  await new Promise((r) => smtp.close(r));
});

async function mailFor(addr, ms = 10000) {
  const t0 = Date.now();
  for (;;) {
    const m = inbox.find((x) => x.to.includes(addr));
    if (m) return m;
    if (Date.now() - t0 > ms) throw new Error(`no mail for ${addr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

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
  await new Promise((r) => smtp.close(r));
  const o = await s.signup();
  await new Promise((r) => setTimeout(r, 500));
  smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], logger: false, onData(stream, session, cb) {
    let raw = '';
    stream.on('data', (d) => { raw += d; });
    stream.on('end', () => { inbox.push({ from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), raw }); cb(); });
  } });
  await new Promise((r) => smtp.listen(port, '127.0.0.1', r));
  const m = await mailFor(o.email, 20000);
  assert.match(m.raw, /Confirm your email address/);
});
