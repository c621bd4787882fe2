/**
 * Serving a folder over HTTP (the demo's examples, or `--static DIR`): GET and HEAD only, no
 * way out of the folder (the resolved real path must stay inside it), no dotfiles (`.env`,
 * `.git/`; only `.well-known/`), explicit content types and `X-Content-Type-Options: nosniff`.
 */
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Headers every answer of this module carries. */
const COMMON = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' };

/** Sends a short plain-text answer. */
export function sendText(request: IncomingMessage, response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...COMMON, ...headers });
  response.end(request.method === 'HEAD' ? undefined : text);
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** Maps a URL path onto a real file path inside `root`, or undefined when it would leave it. */
async function localPath(root: string, pathname: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const path = resolve(root, `.${decoded}`);
  if (path !== root && !path.startsWith(root + sep)) return undefined;
  // Symbolic links may point elsewhere: the real path must stay inside the real root too.
  const [real, realRoot] = await Promise.all([realpath(path).catch(() => undefined), realpath(root).catch(() => root)]);
  if (real === undefined) return undefined;
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return undefined;
  // Dotfiles (`.env`, `.git/config`, `.htpasswd`) are the secrets a deployed folder tends to hold:
  // none is served, whether named in the URL or reached through a link, but `.well-known/`.
  const hidden = (within: string) => within.split(sep).some((part, i) => part.startsWith('.') && !(i === 0 && part === '.well-known'));
  return hidden(relative(root, path)) || hidden(relative(realRoot, real)) ? undefined : real;
}

/** A small page linking the folders of `root` that hold an index.html (used when `/` has none). */
async function folderIndex(root: string): Promise<string> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const links: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const index = await stat(join(root, entry.name, 'index.html')).catch(() => undefined);
    if (index?.isFile()) links.push(`<li><a href="${encodeURI(entry.name)}/">${escapeHtml(entry.name)}</a></li>`);
  }
  return `<!doctype html><meta charset="utf-8"><title>Perch</title><h1>Perch examples</h1><ul>${links.join('')}</ul>`;
}

/** Answers a GET or HEAD for `pathname` from the folder `root` (an absolute path). */
export async function serveStatic(root: string, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return sendText(request, response, 405, 'Method not allowed\n', { allow: 'GET, HEAD' });
  let path = await localPath(root, url.pathname);
  if (path === undefined) return sendText(request, response, 404, 'Not found\n');
  let info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    // Directories need their trailing slash, or the page's relative URLs resolve one level up.
    // One leading slash only: `/.//evil.example/..%2fapp` is the folder app, but a Location of
    // `//evil.example/…` would send the browser to another host.
    if (!url.pathname.endsWith('/')) return sendText(request, response, 301, 'Moved\n', { location: `/${url.pathname.replace(/^\/+/, '')}/${url.search}` });
    const directory = path;
    path = join(directory, 'index.html');
    info = await stat(path).catch(() => undefined);
    if (info === undefined && url.pathname === '/') {
      const page = await folderIndex(directory);
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...COMMON });
      response.end(request.method === 'HEAD' ? undefined : page);
      return;
    }
  }
  if (!info?.isFile()) return sendText(request, response, 404, 'Not found\n');
  sendFile(path, info.size, request, response);
}

/** Streams the file at `path` (known to exist, `size` bytes) with its content type. */
function sendFile(path: string, size: number, request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'content-length': String(size),
    ...COMMON,
  });
  if (request.method === 'HEAD') return void response.end();
  // pipeline, not pipe: a client that goes away mid-file must close the file too, or each
  // aborted download of a large file would hold a file descriptor for good.
  pipeline(createReadStream(path), response, () => undefined);
}

const require = createRequire(import.meta.url);

/**
 * The script-tag bundle, `@perch/embed`'s dist/perch.js, when it is installed beside the server
 * (and built): the server offers it (and its translations) at `/perch.js`, so a page's `<script src="https://chat.example/perch.js">`
 * finds its server at the script's own origin with no configuration.
 */
function scriptBundle(): string | undefined {
  try {
    return require.resolve('@perch/embed/perch.js');
  } catch {
    return undefined;
  }
}

/** perch.js, what it loads on demand (perch.zh-Hans.js, perch.windows.js…) and their source maps. */
const SCRIPT_FILE = /^\/(perch(?:\.[a-zA-Z][\w-]{1,15})?\.js(?:\.map)?)$/;

/** Answers `/perch.js`, `/perch.<part>.js` and their maps; resolves to false for other paths or when the bundle is missing. */
export async function serveScriptBundle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
  const file = SCRIPT_FILE.exec(url.pathname)?.[1];
  if (file === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) return false;
  const bundle = scriptBundle();
  const path = bundle && join(dirname(bundle), file);
  const info = path === undefined ? undefined : await stat(path).catch(() => undefined);
  if (path === undefined || !info?.isFile()) return false;
  sendFile(path, info.size, request, response);
  return true;
}
