// The official TypeScript MCP client against AgentArtifacts' MCP endpoint, as a third-party client would use it: a URL and a
// static Authorization header. Connects, lists tools, calls get_artifact (and search when listed), lists resources when offered,
// and prints one JSON summary on stdout for the test to assert on.
// Usage: node mcp-client-check.mjs <endpoint-url> <bearer> <artifact-id> [protocol-version]
// A protocol version older than the SDK's latest (e.g. 2025-06-18) is what such a client puts in its initialize request.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, bearer, artifactId, protocolVersion] = process.argv.slice(2);
if (!url || !bearer || !artifactId) {
  console.error('usage: node mcp-client-check.mjs <endpoint-url> <bearer> <artifact-id> [protocol-version]');
  process.exit(2);
}

const seen = { sessionIds: new Set(), statuses: [] };
// Every request and answer passes here: records what the server sends back, and plays an older client when asked to.
async function recordingFetch(input, init) {
  let body = init?.body;
  if (protocolVersion && typeof body === 'string' && body.includes('"method":"initialize"')) {
    const message = JSON.parse(body);
    message.params.protocolVersion = protocolVersion;
    body = JSON.stringify(message);
  }
  const response = await fetch(input, { ...init, body });
  seen.statuses.push(response.status);
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
  summary.sessionIds = [...seen.sessionIds];
  summary.statuses = [...new Set(seen.statuses)];
  await client.close();
  console.log(JSON.stringify(summary));
} catch (error) {
  console.error(error?.stack ?? String(error));
  console.log(JSON.stringify({ ...summary, error: String(error?.message ?? error) }));
  process.exit(1);
}
