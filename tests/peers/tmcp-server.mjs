// An MCP server on tmcp, an implementation independent of the official SDKs, for the invoke tests.
// Usage: node tmcp-server.mjs; listens on 127.0.0.1:$PORT at /mcp and prints "listening".
import http from 'node:http';
import { Readable } from 'node:stream';
import { McpServer } from 'tmcp';
import { ZodJsonSchemaAdapter } from '@tmcp/adapter-zod';
import { HttpTransport } from '@tmcp/transport-http';
import { z } from 'zod';

const server = new McpServer({ name: 'tmcp-peer', version: '1.0.0', description: 'tmcp peer' },
  { adapter: new ZodJsonSchemaAdapter(), capabilities: { tools: {} } });
const text = value => ({ content: [{ type: 'text', text: String(value) }] });

server.tool({ name: 'add', description: 'Adds two integers.', schema: z.object({ a: z.number().int(), b: z.number().int() }) },
  async ({ a, b }) => text(a + b));
server.tool({ name: 'fail', description: 'Always reports a tool error.' },
  async () => ({ isError: true, content: [{ type: 'text', text: 'the disk is full' }] }));
server.tool({ name: 'progress', description: 'Reports progress in steps, then answers.', schema: z.object({ steps: z.number().int() }) },
  async ({ steps }) => {
    for (let i = 1; i <= steps; i++) {
      await new Promise(resolve => setTimeout(resolve, 150));
      server.progress(i, steps, `step ${i}`);
    }
    return text(`done in ${steps} steps`);
  });

const transport = new HttpTransport(server, { path: '/mcp' });

http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method, headers: req.headers, body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const response = (await transport.respond(request)) ?? new Response(null, { status: 404 });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) Readable.fromWeb(response.body).pipe(res);
    else res.end();
  } catch (e) {
    console.error(e);
    if (!res.headersSent) res.writeHead(500).end();
  }
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
