// The bench's target API: Node's built-in http server answering GET /v1/patients/{id} with
// a patient record the size of the mock API's, plus the counters the bench reads.
//
// Why not the mock API: the bench runs client and server on the same 2 cores, so every CPU
// second the server spends is taken from the client being measured. This server costs about
// a third of the mock API's CPU per request (the bench's server check prints both), which
// brings a local run closer to production, where the API runs on someone else's machine.
//
//   node lean_target.js PORT_FILE [--latency-ms N]
//
// Endpoints: GET /v1/patients/{id}; GET /_stats[?include_timeline=1]; POST /_reset;
// GET /_health. Listens on 127.0.0.1 only; SIGTERM closes it.
"use strict";

const http = require("http");
const fs = require("fs");
const { performance } = require("perf_hooks");

const args = process.argv.slice(2);
const portFile = args[0];
const latencyIdx = args.indexOf("--latency-ms");
const latencyMs = latencyIdx >= 0 ? Number(args[latencyIdx + 1]) : 0;
if (!portFile || !(latencyMs >= 0)) {
  process.stderr.write("usage: node lean_target.js PORT_FILE [--latency-ms N]\n");
  process.exit(2);
}

const FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "Lucas"];
const LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis"];
const COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "NL", "SE"];
const SEGMENTS = ["standard", "premium", "basic"];
const WINDOW_US = 1_000_000;
const TIMELINE_MAX = 3600;

// Epoch microseconds, monotonic: integers below 2^53, so window boundaries are exact.
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

let stats;
function reset() {
  stats = {
    requestsTotal: 0, apiRequests: 0, statusCounts: {}, firstUs: null, lastUs: null,
    window: [], windowHead: 0, maxSliding: 0, bucket: null, bucketCount: 0, maxAligned: 0,
    timeline: [],
  };
}
reset();

// Sliding maximum over every 1-second interval (times in (t - 1 s, t]) and aligned
// per-second counts, as the mock API computes them (scripts/mock_api/stats.py).
function countApiRequest(t) {
  const s = stats;
  if (s.lastUs !== null && t < s.lastUs) t = s.lastUs;
  if (s.firstUs === null) s.firstUs = t;
  s.lastUs = t;
  s.apiRequests += 1;
  const w = s.window;
  while (s.windowHead < w.length && w[s.windowHead] <= t - WINDOW_US) s.windowHead += 1;
  if (s.windowHead > 4096 && s.windowHead * 2 > w.length) {
    s.window = w.slice(s.windowHead);
    s.windowHead = 0;
  }
  s.window.push(t);
  const inWindow = s.window.length - s.windowHead;
  if (inWindow > s.maxSliding) s.maxSliding = inWindow;
  const b = Math.floor(t / WINDOW_US);
  if (b !== s.bucket) {
    if (s.bucket !== null) {
      s.timeline.push([s.bucket, s.bucketCount]);
      if (s.timeline.length > TIMELINE_MAX) s.timeline.shift();
    }
    s.bucket = b;
    s.bucketCount = 1;
  } else {
    s.bucketCount += 1;
  }
  if (s.bucketCount > s.maxAligned) s.maxAligned = s.bucketCount;
}

function snapshot(includeTimeline) {
  const s = stats;
  const span = s.firstUs !== null ? (s.lastUs - s.firstUs) / 1e6 : 0;
  const out = {
    server: "lean_target",
    requests_total: s.requestsTotal,
    api_requests: s.apiRequests,
    api_status_counts: s.statusCounts,
    max_1s_window: Math.max(s.maxSliding, s.maxAligned),
    max_1s_window_sliding: s.maxSliding,
    max_1s_window_aligned: s.maxAligned,
    first_api_request_at: s.firstUs !== null ? s.firstUs / 1e6 : null,
    last_api_request_at: s.lastUs !== null ? s.lastUs / 1e6 : null,
    api_span_seconds: span,
    api_mean_rps: span > 0 ? (s.apiRequests - 1) / span : null,
    latency_ms: latencyMs,
  };
  if (includeTimeline) {
    out.per_second = s.bucket !== null ? s.timeline.concat([[s.bucket, s.bucketCount]]) : [];
  }
  return out;
}

// FNV-1a over the id: a cheap, stable spread for the record's fields.
function hashId(id) {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function patient(id) {
  const h = hashId(id);
  return JSON.stringify({
    id,
    object: "patient",
    first_name: FIRST[h & 7],
    last_name: LAST[(h >>> 3) & 7],
    country: COUNTRIES[(h >>> 6) & 7],
    risk_score: Math.round((((h >>> 9) & 0xffff) / 65535) * 1e4) / 1e4,
    segment: SEGMENTS[(h >>> 25) % 3],
    lifetime_value: (h % 10_000_000) / 100,
    updated_at: new Date().toISOString(),
  });
}

function send(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

const PATIENT_PREFIX = "/v1/patients/";

const server = http.createServer((req, res) => {
  stats.requestsTotal += 1;
  const url = req.url;
  if (req.method === "GET" && url.startsWith(PATIENT_PREFIX) && url.length > PATIENT_PREFIX.length) {
    countApiRequest(nowUs());
    const q = url.indexOf("?");
    let id;
    try {
      id = decodeURIComponent(url.slice(PATIENT_PREFIX.length, q >= 0 ? q : undefined));
    } catch (err) {  // a malformed %-escape: answer 400 rather than end the server
      stats.statusCounts[400] = (stats.statusCounts[400] || 0) + 1;
      send(res, 400, JSON.stringify({ error: "bad_request", message: String(err.message) }));
      return;
    }
    const body = patient(id);
    stats.statusCounts[200] = (stats.statusCounts[200] || 0) + 1;
    if (latencyMs > 0) setTimeout(() => send(res, 200, body), latencyMs);
    else send(res, 200, body);
    return;
  }
  // Control endpoints: read the body to its end first so the connection stays reusable.
  req.resume();
  req.on("end", () => {
    if (req.method === "GET" && url.startsWith("/_stats")) {
      send(res, 200, JSON.stringify(snapshot(url.includes("include_timeline=1"))));
    } else if (req.method === "POST" && url.startsWith("/_reset")) {
      reset();
      send(res, 200, JSON.stringify({ reset: true }));
    } else if (req.method === "GET" && url === "/_health") {
      send(res, 200, JSON.stringify({ ok: true }));
    } else {
      send(res, 404, JSON.stringify({ error: "not_found", path: url }));
    }
  });
});
// Clients keep connections open between batches; Node's 5 s default would close them.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;

server.listen({ host: "127.0.0.1", port: 0, backlog: 1024 }, () => {
  const tmp = portFile + ".tmp";
  fs.writeFileSync(tmp, `${server.address().port}\n`);
  fs.renameSync(tmp, portFile);
});

process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
