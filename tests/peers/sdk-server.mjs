// An MCP server on the official TypeScript SDK (McpServer + StreamableHTTPServerTransport), for the invoke tests.
// Usage: node sdk-server.mjs <stateful|stateless> <json|sse>; listens on 127.0.0.1:$PORT at /mcp and prints "listening".
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const [state, response] = process.argv.slice(2);
const stateful = state === 'stateful';
const json = response === 'json';
const keysSeen = new Map(); // tool name -> idempotency keys of its calls, in order
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
const text = value => ({ content: [{ type: 'text', text: String(value) }] });

function remember(tool, extra) {
  const key = extra._meta?.['io.agentartifacts/idempotency-key'];
  keysSeen.set(tool, [...(keysSeen.get(tool) ?? []), key]);
  return keysSeen.get(tool);
}

function createServer() {
  const server = new McpServer({ name: 'sdk-peer', version: '1.0.0' });
  server.registerTool('add', {
    description: 'Adds two integers.',
    inputSchema: { a: z.number().int().describe('The first addend.'), b: z.number().int().describe('The second addend.') },
  }, async ({ a, b }) => text(a + b));
  server.registerTool('fail', { description: 'Always reports a tool error.' }, async () =>
    ({ isError: true, content: [{ type: 'text', text: 'the disk is full' }] }));
  server.registerTool('big', {
    description: 'Answers with a text of the given size.', inputSchema: { bytes: z.number().int() },
  }, async ({ bytes }) => text('x'.repeat(bytes)));
  server.registerTool('progress', {
    description: 'Reports progress in steps, then answers.', inputSchema: { steps: z.number().int() },
  }, async ({ steps }, extra) => {
    for (let i = 1; i <= steps; i++) {
      await sleep(150);
      if (extra._meta?.progressToken !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress',
          params: { progressToken: extra._meta.progressToken, progress: i, total: steps, message: `step ${i}` } });
      }
    }
    return text(`done in ${steps} steps`);
  });
  server.registerTool('idempotency_key', { description: 'Answers with the idempotency key its call carried.' }, async (extra) =>
    text(remember('idempotency_key', extra).at(-1)));
  server.registerTool('slow_first', {
    description: 'The first call with a key outlasts any short timeout; a later one answers with every key seen.',
  }, async (extra) => {
    const keys = remember('slow_first', extra);
    if (keys.length === 1) await sleep(4000);
    return text(JSON.stringify(keys));
  });
  server.registerTool('hang_up', {
    description: 'Ends its SSE stream mid-call; the answer waits in the event store for the client to resume.',
  }, async (extra) => {
    await sleep(100);
    extra.closeSSEStream?.();
    await sleep(600);
    return text(extra.closeSSEStream ? 'resumed' : 'no stream to close');
  });
  return server;
}

class EventStore {
  events = [];
  async storeEvent(streamId, message) {
    const eventId = `${streamId}_${this.events.length}`;
    this.events.push({ eventId, streamId, message });
    return eventId;
  }
  async getStreamIdForEventId(eventId) { return this.events.find(e => e.eventId === eventId)?.streamId; }
  async replayEventsAfter(lastEventId, { send }) {
    const at = this.events.findIndex(e => e.eventId === lastEventId);
    if (at < 0) return '';
    const streamId = this.events[at].streamId;
    for (const e of this.events.slice(at + 1).filter(e => e.streamId === streamId)) await send(e.eventId, e.message);
    return streamId;
  }
}

const sessions = new Map();

async function handle(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  if (!stateful) {
    const server = createServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: json });
    res.on('close', () => { transport.close(); server.close(); });
    await server.connect(transport);
    return transport.handleRequest(req, res, body);
  }
  const id = req.headers['mcp-session-id'];
  let transport = id ? sessions.get(id) : undefined;
  if (!transport) {
    if (id || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(), enableJsonResponse: json, eventStore: new EventStore(), retryInterval: 200,
      onsessioninitialized: sid => sessions.set(sid, transport),
    });
    transport.onclose = () => sessions.delete(transport.sessionId);
    await createServer().connect(transport);
  }
  return transport.handleRequest(req, res, body);
}

http.createServer((req, res) => handle(req, res).catch(e => {
  console.error(e);
  if (!res.headersSent) res.writeHead(500).end();
})).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
