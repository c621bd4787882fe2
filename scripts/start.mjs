// `npm start`: the demo. Builds the bundles, then runs `perch-server --demo` on
// http://localhost:PORT (default 8080), which serves the examples, /perch.js and the demo sign-in.
//
//   PORT=9000 npm start        another port
//   PERCH_DATA=/tmp/x npm start another data folder (default .perch-data/; starting again keeps it)
//
// Order matters: bundles first (the pages load them), then the server; the server is stopped
// with this process (Ctrl+C), gracefully.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDemo } from './demo-build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.env.PORT ?? 8080);
const data = process.env.PERCH_DATA ?? join(root, '.perch-data');

const started = Date.now();
try {
  const files = await buildDemo();
  console.log(`Built ${files.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
} catch (error) {
  console.error(`Could not build the demo: ${error?.message ?? error}`);
  if (error?.frame) console.error(error.frame);
  process.exit(1);
}

mkdirSync(data, { recursive: true });
const db = join(data, 'perch.db');
const server = spawn(
  process.execPath,
  [join(root, 'packages/server/bin/perch-server.mjs'), '--demo', '--port', String(port), '--db', db],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);

let announced = false;
server.stdout.setEncoding('utf8');
server.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  if (!announced && chunk.includes('listening on')) {
    announced = true;
    void announce();
  }
});
server.on('exit', (code, signal) => {
  if (!announced) console.error(`perch-server stopped before it was ready (${signal ?? `exit ${code}`}); is port ${port} in use? Try PORT=8081 npm start.`);
  process.exit(code ?? 1);
});

async function announce() {
  const base = `http://localhost:${port}`;
  let people = [];
  try {
    people = await (await fetch(`${base}/demo/people`)).json();
  } catch {
    // The links still work; the list is a convenience.
  }
  const sample = people.slice(0, 4).map((p) => `${p.id} (${p.name}${p.title ? `, ${p.title}` : ''})`);
  console.log(`
Perch demo (data in ${relative(root, db) || db}; starting again keeps it):
  ${base}/                      sign in as a demo person and pick an example
  ${base}/script-tag/?as=alice  a small business site with one <script> tag
  ${base}/intranet/?as=bob      the company directory with profile cards
  ${base}/framework/?as=chen    a React 19 app using the components
  ${base}/elements/             the components on an in-page memory hub
  ${base}/memory-chat/          the headless core with fault injection
Demo people: ${sample.join(', ')}${people.length > 4 ? `, and ${people.length - 4} more` : ''}.
Open two windows as two people (?as=alice and ?as=bob) to chat. Press Ctrl+C to stop.`);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.kill('SIGTERM'));
}
