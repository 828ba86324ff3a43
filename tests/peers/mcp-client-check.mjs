// The official TypeScript MCP client against AgentArtifacts' MCP endpoint, as a third-party client would use it: a URL and a
// static Authorization header. Connects, lists tools, calls get_artifact (and search when listed), lists resources when offered,
// lists prompts when offered, and prints one JSON summary on stdout for the test to assert on.
// Usage: node mcp-client-check.mjs <endpoint-url> <bearer> <artifact-id> [protocol-version]
// A protocol version older than the SDK's latest (e.g. 2025-06-18) is what such a client puts in its initialize request.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, bearer, artifactId, protocolVersion] = process.argv.slice(2);
if (!url || !bearer || !artifactId) {
  console.error('usage: node mcp-client-check.mjs <endpoint-url> <bearer> <artifact-id> [protocol-version]');
  process.exit(2);
}

const seen = { sessionIds: new Set(), refused: [] };
// Every request and answer passes here: records session ids and refusals (any status from 300 up), and plays an older client when asked to.
async function recordingFetch(input, init) {
  let body = init?.body;
  if (protocolVersion && typeof body === 'string' && body.includes('"method":"initialize"')) {
    const message = JSON.parse(body);
    message.params.protocolVersion = protocolVersion;
    body = JSON.stringify(message);
  }
  const response = await fetch(input, { ...init, body });
  if (response.status >= 300) {
    const method = typeof body === 'string' ? JSON.parse(body).method : undefined;
    seen.refused.push({ httpMethod: init?.method ?? 'GET', method, status: response.status, body: await response.clone().text() });
  }
  const session = response.headers.get('mcp-session-id');
  if (session) seen.sessionIds.add(session);
  return response;
}

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
  fetch: recordingFetch,
});
const client = new Client({ name: 'agentartifacts-ts-check', version: '1.0.0' });

const texts = result => (result.content ?? []).filter(c => c.type === 'text').map(c => c.text);
const call = async (name, args) => {
  // callTool validates structuredContent against the tool's output schema; a mismatch throws here.
  const result = await client.callTool({ name, arguments: args });
  return { isError: result.isError === true, structuredContent: result.structuredContent ?? null, text: texts(result) };
};

const summary = {};
try {
  await client.connect(transport);
  summary.protocolVersion = transport.protocolVersion ?? null;
  summary.server = client.getServerVersion();
  summary.capabilities = client.getServerCapabilities();
  await client.ping();
  summary.pinged = true;

  const tools = (await client.listTools()).tools;
  summary.tools = tools.map(t => t.name);
  summary.toolsWithoutDescription = tools.filter(t => !t.description).map(t => t.name);
  summary.getArtifact = await call('get_artifact', { id: artifactId });
  summary.getMissingArtifact = await call('get_artifact', { id: '00000000-0000-7000-8000-000000000000' });
  if (summary.tools.includes('search')) summary.search = await call('search', { query: 'Notes' });
  summary.resources = summary.capabilities?.resources ? (await client.listResources()).resources.map(r => r.uri) : null;
  summary.prompts = summary.capabilities?.prompts ? (await client.listPrompts()).prompts.map(p => p.name) : null;
  summary.sessionIds = [...seen.sessionIds];
  summary.refused = seen.refused;
  await client.close();
  console.log(JSON.stringify(summary));
} catch (error) {
  console.error(error?.stack ?? String(error));
  console.log(JSON.stringify({ ...summary, error: String(error?.message ?? error) }));
  process.exit(1);
}
