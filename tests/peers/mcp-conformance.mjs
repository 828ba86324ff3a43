// Runs server scenarios of @modelcontextprotocol/conformance against AgentArtifacts' MCP endpoint. The conformance client
// cannot send an Authorization header, so it talks to a loopback proxy started here that adds `Authorization: Bearer <key>`
// to every request and forwards it unchanged otherwise (no anonymous way into the service is needed).
// Usage: node mcp-conformance.mjs <endpoint-url> <bearer> <scenario>...
// Prints one JSON object: scenario -> { passed, exitCode, output }. Exit code 0 when every scenario passed.
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [endpoint, bearer, ...scenarios] = process.argv.slice(2);
if (!endpoint || !bearer || scenarios.length === 0) {
  console.error('usage: node mcp-conformance.mjs <endpoint-url> <bearer> <scenario>...');
  process.exit(2);
}
const target = new URL(endpoint);

const proxy = http.createServer((request, response) => {
  const headers = { ...request.headers, host: target.host, authorization: `Bearer ${bearer}` };
  const upstream = http.request({ host: target.hostname, port: target.port, method: request.method, path: request.url, headers }, answer => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  upstream.on('error', error => {
    response.writeHead(502, { 'content-type': 'text/plain' });
    response.end(String(error));
  });
  request.pipe(upstream);
});
await new Promise(resolve => proxy.listen(0, '127.0.0.1', resolve));
const proxied = `http://127.0.0.1:${proxy.address().port}${target.pathname}`;

const cli = fileURLToPath(new URL('./node_modules/@modelcontextprotocol/conformance/dist/index.js', import.meta.url));
const shim = new URL('./conformance-node20.mjs', import.meta.url).href;
const run = scenario => new Promise(resolve => {
  const child = spawn(process.execPath, ['--import', shim, cli, 'server', '--url', proxied, '--scenario', scenario],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  child.stdout.on('data', chunk => { output += chunk; });
  child.stderr.on('data', chunk => { output += chunk; });
  child.on('close', exitCode => resolve({ passed: exitCode === 0, exitCode, output }));
});

// One process per scenario (the CLI runs one with --scenario), all at once: the endpoint keeps no state between requests.
const results = Object.fromEntries(await Promise.all(scenarios.map(async scenario => [scenario, await run(scenario)])));
proxy.close();
console.log(JSON.stringify(results));
process.exit(Object.values(results).every(r => r.passed) ? 0 : 1);
