'use strict';
// Opens N /v1/stream connections to one server, waits until all are open, reads the server's
// RSS, then creates one member and times until every stream has received its event.
// usage: node bench/sse-clients.js BASE_URL API_KEY N SERVER_PID JWT  → JSON on stdout
const http = require('node:http');
const fs = require('node:fs');

const [base, key, nArg, pid, jwt] = process.argv.slice(2);
const N = Number(nArg);
const url = new URL(base);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
let open = 0;
let received = 0;
let target = null; // the email of the member whose event is awaited
let tStart = 0;
let tLast = 0;
let done;
const allReceived = new Promise((r) => { done = r; });

function connect() {
  return new Promise((resolve) => {
    const req = http.get({ host: url.hostname, port: url.port, path: '/v1/stream', agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
      if (res.statusCode !== 200) { res.resume(); resolve(false); return; }
      open += 1;
      resolve(true);
      let buf = '';
      let got = false;
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        if (got || target === null) return;
        buf += chunk;
        if (buf.includes(target)) {
          got = true;
          received += 1;
          tLast = Date.now();
          if (received === open) done();
        }
        if (buf.length > 65536) buf = buf.slice(-4096);
      });
    });
    req.on('error', () => resolve(false));
  });
}

function rssKb() {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return m ? Number(m[1]) : 0;
}

(async () => {
  const t0 = Date.now();
  for (let i = 0; i < N; i += 500) {
    const batch = [];
    for (let k = i; k < Math.min(N, i + 500); k++) batch.push(connect());
    await Promise.all(batch);
  }
  const connectMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 2000)); // settle: backlog replays are done
  const rss = rssKb();
  const email = `sse${Date.now()}@example.com`;
  target = email;
  tStart = Date.now();
  const res = await fetch(`${base}/v1/members`, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify({ first_name: 'Stream', last_name: 'Bench', email }),
  });
  if (res.status !== 201) throw new Error(`member not created: ${res.status}`);
  await Promise.race([allReceived, new Promise((r) => setTimeout(r, 60000))]);
  process.stdout.write(`${JSON.stringify({ asked: N, open, connect_ms: connectMs, rss_kb: rss, received, fanout_ms: tLast - tStart })}\n`);
  process.exit(0);
})();
