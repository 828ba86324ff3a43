// Lets @modelcontextprotocol/conformance run on Node 20: its CLI imports fs.globSync (Node 22) for the tier-check command
// alone, which the server scenarios never call. Loaded with `node --import ./conformance-node20.mjs`, it resolves that one
// package's `fs` to node:fs plus a globSync that says why it is missing.
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const fsWithGlobSync = 'data:text/javascript,' + encodeURIComponent(
  "export * from 'node:fs'; export { default } from 'node:fs';"
  + " export function globSync() { throw new Error('fs.globSync needs Node 22 (conformance tier-check)'); }");

export async function resolve(specifier, context, next) {
  if ((specifier === 'fs' || specifier === 'node:fs') && context.parentURL?.includes('/@modelcontextprotocol/conformance/')) {
    return { url: fsWithGlobSync, shortCircuit: true };
  }
  return next(specifier, context);
}

// The hooks run on their own thread, which imports this module again: register once, from the main thread.
if (isMainThread) register(import.meta.url);
