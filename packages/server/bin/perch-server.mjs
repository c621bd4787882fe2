#!/usr/bin/env node
// The `perch-server` command. An installed package runs the compiled dist/cli.js. In the Perch
// repository (no build step for the server) it runs src/cli.ts through tsx instead, in this same
// process (so signals and exit codes need no forwarding), resolving workspace packages such as
// @perch/protocol to their TypeScript sources through the `source` export condition.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const built = new URL('../dist/cli.js', import.meta.url);
let cli;
if (existsSync(built)) {
  cli = await import(built.href);
} else {
  const addSourceCondition =
    'export function resolve(specifier, context, next) {' +
    ' return next(specifier, { ...context, conditions: [...new Set([...context.conditions, "source"])] }); }';
  register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`);
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  cli = await import(new URL('../src/cli.ts', import.meta.url).href);
}
await cli.runCli(process.argv.slice(2));
