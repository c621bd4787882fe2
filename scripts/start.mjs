// `npm start`: bundles the memory-chat demo and serves examples/ on http://localhost:PORT.
//
//   PORT=9000 npm start     another port (default 8080); the server listens on 127.0.0.1 only.
//
// The bundle is built once at start; restart to pick up source changes.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import { bundleConfig } from '../rollup.config.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const examples = join(root, 'examples');
const port = Number(process.env.PORT ?? 8080);
const host = '127.0.0.1';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Bundles examples/memory-chat/main.ts (all dependencies inlined) with the repo's shared Rollup setup. */
async function bundle() {
  const input = join(examples, 'memory-chat/main.ts');
  const file = join(examples, 'memory-chat/dist/main.js');
  const config = bundleConfig({ input, file, format: 'es', sourcemap: true });
  const build = await rollup({ input: config.input, plugins: config.plugins, onwarn: config.onwarn });
  try {
    await build.write(config.output);
  } finally {
    await build.close();
  }
  return file;
}

/** Maps a URL path onto a file inside examples/, or undefined when it would leave that folder. */
function localPath(pathname) {
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const path = resolve(examples, '.' + decoded);
  return path === examples || path.startsWith(examples + sep) ? path : undefined;
}

async function handle(request, response) {
  const send = (status, text, headers = {}) => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    response.end(request.method === 'HEAD' ? undefined : text);
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'Method not allowed\n', { allow: 'GET, HEAD' });
  const url = new URL(request.url ?? '/', `http://${host}`);
  if (url.pathname === '/') return send(302, 'Moved\n', { location: '/memory-chat/' });
  let path = localPath(url.pathname);
  if (!path) return send(404, 'Not found\n');
  let info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    // Directories need their trailing slash, or the page's relative URLs resolve one level up.
    if (!url.pathname.endsWith('/')) return send(301, 'Moved\n', { location: `${url.pathname}/${url.search}` });
    path = join(path, 'index.html');
    info = await stat(path).catch(() => undefined);
  }
  if (!info?.isFile()) return send(404, 'Not found\n');
  response.writeHead(200, {
    'content-type': TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'content-length': info.size,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  if (request.method === 'HEAD') return response.end();
  createReadStream(path).on('error', () => response.destroy()).pipe(response);
}

const started = Date.now();
try {
  await bundle();
} catch (error) {
  console.error(`Could not bundle the demo: ${error?.message ?? error}`);
  if (error?.frame) console.error(error.frame);
  process.exit(1);
}
console.log(`Bundled examples/memory-chat/dist/main.js in ${Date.now() - started} ms.`);

const server = createServer((request, response) => {
  handle(request, response).catch((error) => {
    console.error(error);
    if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('Internal error\n');
  });
});
server.on('error', (error) => {
  if (error.code === 'EADDRINUSE') console.error(`Port ${port} is in use; stop the other server or run PORT=8081 npm start.`);
  else console.error(error.message);
  process.exit(1);
});
server.listen(port, host, () => {
  console.log(`Perch demo: http://localhost:${port}/memory-chat/`);
  console.log('Press Ctrl+C to stop.');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
