// A webhook receiver for the webhook delivery tests: every request to any path other than /_control/* is a delivery,
// recorded with which of the configured secrets the standardwebhooks package (the Standard Webhooks project's own
// TypeScript library) verifies it under, and answered from the planned responses (then 200).
//   POST /_control/secrets   {"secrets": ["whsec_…", …]}          secrets to verify with, each on its own
//   POST /_control/plan      {"responses": [{"status": 500}, {"status": 429, "retryAfter": "1"}, {"delayMs": 3000}]}
//   GET  /_control/received  the deliveries so far, in arrival order
import http from "node:http";
import { Webhook } from "standardwebhooks";

let secrets = [];
const plan = [];
const received = [];

const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  req.on("error", reject);
});

const json = (res, status, value) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
};

const server = http.createServer(async (req, res) => {
  const body = await readBody(req);
  if (req.url === "/_control/secrets" && req.method === "POST") {
    secrets = JSON.parse(body).secrets;
    return json(res, 200, { secrets: secrets.length });
  }
  if (req.url === "/_control/plan" && req.method === "POST") {
    plan.push(...JSON.parse(body).responses);
    return json(res, 200, { planned: plan.length });
  }
  if (req.url === "/_control/received" && req.method === "GET") return json(res, 200, received);

  const verifiedBy = [];
  const errors = [];
  secrets.forEach((secret, i) => {
    try {
      new Webhook(secret).verify(body, req.headers);
      verifiedBy.push(i);
    } catch (e) {
      errors.push(`${i}: ${e.message}`);
    }
  });
  const response = plan.shift() ?? { status: 200 };
  received.push({
    path: req.url,
    id: req.headers["webhook-id"] ?? null,
    timestamp: req.headers["webhook-timestamp"] ?? null,
    signature: req.headers["webhook-signature"] ?? null,
    body,
    verifiedBy,
    errors,
    at: Date.now(),
    answered: response.status ?? 200,
  });
  if (response.delayMs) await new Promise((r) => setTimeout(r, response.delayMs));
  const headers = { "content-type": "text/plain" };
  if (response.retryAfter) headers["retry-after"] = response.retryAfter;
  if (response.location) headers["location"] = response.location;
  res.writeHead(response.status ?? 200, headers);
  res.end(response.body ?? "received ".repeat(response.repeat ?? 1));
});

server.listen(Number(process.env.PORT), "127.0.0.1");
