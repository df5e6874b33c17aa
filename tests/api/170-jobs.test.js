'use strict';
// Durable jobs, black-box: retries with backoff, the dead letter and a manual retry (mail jobs
// against a real SMTP server that refuses on command), member exports and imports as jobs with
// progress, notifications, and a job taken over after its server was killed mid-run.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startServer, assertProblem, unique, SmtpSink } = require('./helpers');

const sink = new SmtpSink();
const { plan, inbox } = sink;
let s;
const mailFor = (addr, ms) => sink.mailFor(addr, ms);

// The decoded parts of a multipart message: {text, html}.
function parts(raw) {
  const boundary = raw.match(/boundary="([^"]+)"/)[1];
  const out = {};
  for (const chunk of raw.split(`--${boundary}`)) {
    const [head, ...rest] = chunk.split('\r\n\r\n');
    const body = rest.join('\r\n\r\n');
    if (/text\/plain/.test(head)) out.text = body;
    if (/text\/html/.test(head)) out.html = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return out;
}

async function mailJobFor(token, email) {
  // the newest mail job of the organization whose mail goes to email
  for (let i = 0; i < 100; i++) {
    const r = await s.get('/v1/jobs?kind=mail.send&limit=50', { token });
    assert.equal(r.status, 200, r.text);
    if (r.body.data.length) return r.body.data[0];
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no mail job for ${email}`);
}

before(async () => {
  await sink.listen();
  s = await startServer({
    env: {
      PLINTH_SMTP_URL: sink.url,
      PLINTH_JOB_BACKOFF_MS: '100',
      PLINTH_CSV_JOB_THRESHOLD: '5',
    },
  });
});
after(async () => {
  await s.stop();
  await sink.close();
});

test('a job that fails twice is retried with backoff and then succeeds', async () => {
  const o = await s.signup();
  await mailFor(o.email); // the signup's verification mail
  plan.push('fail', 'fail');
  const email = `${unique('inv')}@example.com`;
  assert.equal((await s.post('/v1/invitations', { email, role: 'viewer' }, { token: o.token })).status, 201);
  const job = await mailJobFor(o.token, email);
  const done = await s.waitJob(job.id, o.token);
  assert.equal(done.state, 'succeeded', JSON.stringify(done));
  assert.equal(done.attempts, 3);
  assert.equal(done.last_error, null);
  assert.ok(Date.parse(done.finished_at) - Date.parse(done.created_at) >= 75 + 150, 'two backoffs (±25%) passed');
  const m = await mailFor(email);
  assert.match(m.raw, /token=it_/);
});

test('a job that keeps failing is dead-lettered; an admin queues it again', async () => {
  const o = await s.signup();
  await mailFor(o.email);
  const viewer = await s.apiKey(o.token, 'viewer');
  const editor = await s.apiKey(o.token, 'editor');
  plan.push('fail', 'fail', 'fail', 'fail', 'fail', 'fail');
  const email = `${unique('dead')}@example.com`;
  assert.equal((await s.post('/v1/invitations', { email, role: 'viewer' }, { token: o.token })).status, 201);
  const job = await mailJobFor(o.token, email);
  const dead = await s.waitJob(job.id, o.token, { ms: 30000 });
  assert.equal(dead.state, 'dead', JSON.stringify(dead));
  assert.equal(dead.attempts, 6);
  assert.equal(dead.max_attempts, 6);
  assert.match(dead.last_error, /SMTP/);
  assert.equal(inbox.filter((x) => x.to.includes(email)).length, 0);
  // the dead letter is listed by state; only admins may retry
  const deadList = await s.get('/v1/jobs?state=dead', { token: o.token });
  assert.ok(deadList.body.data.some((j) => j.id === job.id));
  assertProblem(await s.post(`/v1/jobs/${job.id}/retry`, {}, { token: viewer.key }), 403);
  assertProblem(await s.post(`/v1/jobs/${job.id}/retry`, {}, { token: editor.key }), 403);
  const again = await s.post(`/v1/jobs/${job.id}/retry`, {}, { token: o.token });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.attempts, 0);
  const ok = await s.waitJob(job.id, o.token);
  assert.equal(ok.state, 'succeeded');
  assert.equal(ok.attempts, 1);
  await mailFor(email);
  const p = assertProblem(await s.post(`/v1/jobs/${job.id}/retry`, {}, { token: o.token }), 409);
  assert.equal(p.code, 'job_not_retryable');
  const audit = await s.get('/v1/audit-logs?action=job.retried', { token: o.token });
  assert.equal(audit.body.data.length, 1);
  assertProblem(await s.get('/v1/jobs?state=stuck', { token: o.token }), 422);
});

test('a large export runs as a job with progress; the file is downloaded from the job', async () => {
  const o = await s.signup();
  const editor = await s.apiKey(o.token, 'editor');
  for (let i = 0; i < 12; i++) {
    const r = await s.post('/v1/members', { first_name: `F${i}`, last_name: 'Export', email: `${unique('ex')}@example.com` }, { token: o.token });
    assert.equal(r.status, 201);
  }
  // at or under the threshold the file comes back at once
  const small = await s.post('/v1/members/export?status=pending', undefined, { token: o.token });
  assert.equal(small.status, 200);
  const big = await s.post('/v1/members/export?format=csv', undefined, { token: o.token });
  assert.equal(big.status, 202, big.text);
  assert.equal(big.headers.get('location'), `/v1/jobs/${big.body.id}`);
  assert.equal(big.body.kind, 'members.export');
  assert.equal(big.body.state, 'queued');
  const job = await s.waitJob(big.body.id, o.token);
  assert.equal(job.state, 'succeeded', JSON.stringify(job));
  assert.deepEqual(job.progress, { processed: 12, total: 12 });
  assert.equal(job.result.rows, 12);
  assert.equal(job.result._file, undefined, 'server paths are not shown');
  const file = await s.get(job.result.download_url, { token: o.token });
  assert.equal(file.status, 200);
  assert.match(file.headers.get('content-type'), /text\/csv/);
  assert.equal(file.text.trim().split('\r\n').length, 13);
  // an editor sees its own jobs only; admins see every job
  const mine = await s.post('/v1/members/export?format=json', undefined, { token: editor.key });
  assert.equal(mine.status, 202);
  const ej = await s.waitJob(mine.body.id, editor.key);
  assert.equal(JSON.parse((await s.get(ej.result.download_url, { token: editor.key })).text).length, 12);
  const seen = (await s.get('/v1/jobs?kind=members.export', { token: editor.key })).body.data.map((j) => j.id);
  assert.deepEqual(seen, [mine.body.id]);
  assertProblem(await s.get(`/v1/jobs/${big.body.id}`, { token: editor.key }), 404);
  const all = (await s.get('/v1/jobs?kind=members.export&include_total=true', { token: o.token })).body;
  assert.equal(all.total, 2);
  // the user who asked is told; notifications are marked read one by one or all at once
  const inbox1 = (await s.get('/v1/notifications?unread=true', { token: o.token })).body;
  assert.equal(inbox1.unread_count, 1);
  const n = inbox1.data[0];
  assert.equal(n.type, 'job.finished');
  assert.equal(n.data.job_id, big.body.id);
  const read = await s.post(`/v1/notifications/${n.id}/read`, undefined, { token: o.token });
  assert.equal(read.status, 200, read.text);
  assert.equal(read.body.read, true);
  assert.equal((await s.get('/v1/notifications?unread=true', { token: o.token })).body.data.length, 0);
  assert.equal((await s.get('/v1/notifications', { token: o.token })).body.data.length, 1);
  assertProblem(await s.post('/v1/notifications/ntf_00000000000000000000000000/read', undefined, { token: o.token }), 404);
  assert.equal((await s.post('/v1/notifications/read-all', undefined, { token: o.token })).body.marked_read, 0);
  assertProblem(await s.get('/v1/notifications?unread=maybe', { token: o.token }), 422);
});

test('a large import runs as a job: progress, report, event; a malformed one fails for good', async () => {
  const o = await s.signup();
  const rows = ['first_name,last_name,email'];
  for (let i = 0; i < 20; i++) rows.push(`Im${i},Port,${unique('imp')}@example.com`);
  rows.push('Bad,Row,not-an-email');
  const r = await s.req('POST', '/v1/members/import', { token: o.token, headers: { 'content-type': 'text/csv' }, raw: `${rows.join('\n')}\n` });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.kind, 'members.import');
  const job = await s.waitJob(r.body.id, o.token);
  assert.equal(job.state, 'succeeded', JSON.stringify(job));
  assert.deepEqual(job.progress, { processed: 21, total: 21 });
  assert.equal(job.result.created, 20);
  assert.equal(job.result.rejected, 1);
  assert.equal(job.result.errors[0].line, 22);
  const list = await s.get('/v1/members?include_total=true', { token: o.token });
  assert.equal(list.body.total, 20);
  const ev = (await s.get('/v1/events?type=member.imported', { token: o.token })).body.data;
  assert.equal(ev.length, 1, 'one member.imported event, from the job');
  assert.equal(ev[0].data.created, 20);
  // a dry run is never a job
  const dry = await s.req('POST', '/v1/members/import?dry_run=true', { token: o.token, headers: { 'content-type': 'text/csv' }, raw: `${rows.join('\n')}\n` });
  assert.equal(dry.status, 200);
  // a large file that is not CSV fails once, with the reason
  const bad = `first_name,last_name,email\n${'a,b,"c\n'.repeat(10)}`;
  const br = await s.req('POST', '/v1/members/import', { token: o.token, headers: { 'content-type': 'text/csv' }, raw: bad });
  assert.equal(br.status, 202, br.text);
  const failed = await s.waitJob(br.body.id, o.token);
  assert.equal(failed.state, 'failed');
  assert.equal(failed.attempts, 1);
  assert.match(failed.last_error, /malformed CSV/);
});

test('the invitation email carries the organization\'s branding in its HTML part', async () => {
  const o = await s.signup({ organization: 'Brandy Gym' });
  const p = await s.patch('/v1/tenant', { settings: { branding: { primary_color: '#ff5500', logo_url: 'https://cdn.example.com/logo.png' } } }, { token: o.token });
  assert.equal(p.status, 200, p.text);
  const email = `${unique('brand')}@example.com`;
  assert.equal((await s.post('/v1/invitations', { email, role: 'viewer' }, { token: o.token })).status, 201);
  const m = await mailFor(email);
  assert.match(m.raw, /multipart\/alternative/);
  const { text, html } = parts(m.raw);
  assert.match(text, /Accept the invitation: http:\/\/127\.0\.0\.1:\d+\/console\/#\/accept-invite\?token=it_/);
  assert.match(html, /background:#ff5500/);
  assert.match(html, /<img src="https:\/\/cdn\.example\.com\/logo\.png" alt="Brandy Gym"/);
  assert.match(html, /href="http:\/\/127\.0\.0\.1:\d+\/console\/#\/accept-invite\?token=it_[A-Za-z0-9_-]+"/);
  assert.match(html, /Sent by Brandy Gym via Plinth/);
});

test('an endpoint failing past the limit is disabled; owners get a notification and an email', async () => {
  let hits = 0;
  const recv = http.createServer((req, res) => { hits += 1; req.resume(); req.on('end', () => { res.writeHead(500); res.end('down'); }); });
  await new Promise((r) => recv.listen(0, '127.0.0.1', r));
  const w = await startServer({
    env: {
      PLINTH_SMTP_URL: sink.url,
      PLINTH_ALLOW_PRIVATE_WEBHOOKS: '1',
      PLINTH_WEBHOOK_RETRIES: '1,1,1,1,1,1',
      PLINTH_WEBHOOK_DISABLE_AFTER: '1',
    },
  });
  try {
    const o = await w.signup({ organization: 'Hooked Gym' });
    const ep = await w.post('/v1/webhook-endpoints', { url: `http://127.0.0.1:${recv.address().port}/h`, events: ['member.*'] }, { token: o.token });
    assert.equal(ep.status, 201);
    await w.post('/v1/members', { first_name: 'Hook', last_name: 'Ed', email: `${unique('h')}@example.com` }, { token: o.token });
    let n;
    for (let i = 0; i < 200 && !n; i++) {
      n = (await w.get('/v1/notifications', { token: o.token })).body.data.find((x) => x.type === 'webhook_endpoint.disabled');
      if (!n) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(n, 'the owner was notified');
    assert.equal(n.data.endpoint_id, ep.body.id);
    const dl = (await w.get(`/v1/webhook-endpoints/${ep.body.id}/deliveries`, { token: o.token })).body.data;
    const attempts = dl[0].attempts;
    assert.ok(attempts >= 2, 'it failed, then failed again past the limit');
    assert.ok(hits >= attempts);
    await new Promise((r) => setTimeout(r, 1500));
    const later = (await w.get(`/v1/webhook-endpoints/${ep.body.id}/deliveries`, { token: o.token })).body.data[0];
    assert.equal(later.attempts, attempts, 'a disabled endpoint gets no more attempts');
    assert.equal(later.status, 'pending', 'its deliveries wait for it to be enabled again');
    assert.equal((await w.get(`/v1/webhook-endpoints/${ep.body.id}`, { token: o.token })).body.status, 'disabled');
    const ev = (await w.get('/v1/events?type=webhook_endpoint.disabled', { token: o.token })).body.data;
    assert.equal(ev.length, 1);
    assert.equal(ev[0].data.secret, undefined);
    const sub = (await w.get('/v1/jobs?kind=subscriber', { token: o.token })).body.data;
    assert.equal(sub.length, 1);
    assert.equal(sub[0].state, 'succeeded');
    assert.equal(sub[0].payload.event_id, ev[0].id);
    const mail = await mailFor(o.email.toLowerCase());
    assert.ok(inbox.some((x) => x.to.includes(o.email.toLowerCase()) && /webhook endpoint was disabled/.test(x.raw)));
    assert.ok(mail);
  } finally {
    await w.stop();
    recv.close();
  }
});

test('a job whose server was killed mid-run is taken over when its lease expires', async () => {
  const env = {
    PLINTH_SMTP_URL: sink.url,
    PLINTH_JOB_LEASE: '1',
    PLINTH_TASK_LEASE: '2', // the kill may land while this server runs jobs.reap
    PLINTH_TASK_PERIODS: 'jobs.reap=200',
    PLINTH_SCHEDULER_TICK_MS: '50',
  };
  const k = await startServer({ env });
  const o = await k.signup();
  await mailFor(o.email);
  plan.push('hang');
  const email = `${unique('lease')}@example.com`;
  assert.equal((await k.post('/v1/invitations', { email, role: 'viewer' }, { token: o.token })).status, 201);
  // the SMTP server has the message and never answers: the job is running, mid-send
  for (let i = 0; i < 400 && sink.hung === 0; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(sink.hung, 1);
  const job = (await k.get('/v1/jobs?kind=mail.send', { token: o.token })).body.data[0];
  assert.equal(job.state, 'running');
  await k.kill9();
  const k2 = await startServer({ dataDir: k.dataDir, env });
  try {
    const token = (await k2.post('/v1/auth/login', { email: o.email, password: o.password })).body.access_token;
    const done = await k2.waitJob(job.id, token);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(done.attempts, 2);
    await mailFor(email);
    assert.equal(inbox.filter((x) => x.to.includes(email)).length, 1);
  } finally {
    await k2.stop();
  }
});
