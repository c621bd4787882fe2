// `npm run bench [-- name...]`: runs the browser benchmarks in Debian's Chromium and prints figures.
// Benchmarks print; they never fail a build (targets are reported as met / NOT met).
//   npm run bench                 # all
//   npm run bench -- outbox       # one (outbox-flush, cold-start, render, size)
import { createServer } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import puppeteer from 'puppeteer-core';
import { bundleConfig } from '../rollup.config.mjs';
import { BUDGETS, measure } from '../scripts/size.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'node_modules/.cache/bench');
const BROWSER_BENCHES = ['outbox-flush', 'cold-start', 'render'];
const wanted = process.argv.slice(2);
const selected = (name) => wanted.length === 0 || wanted.some((w) => name.includes(w));

function print(result) {
  console.log(`\n${result.name}`);
  for (const [label, value] of Object.entries(result.figures)) {
    console.log(`  ${label.padEnd(40)} ${typeof value === 'number' ? value.toFixed(value < 10 ? 3 : 1) : value}`);
  }
  console.log(`  target: ${result.target} — ${result.met ? 'met' : 'NOT met'}`);
}

async function bundle(name) {
  mkdirSync(out, { recursive: true });
  const config = bundleConfig({ input: join(root, 'bench/browser', `${name}.ts`), file: join(out, `${name}.js`) });
  const build = await rollup(config);
  await build.write(config.output);
  await build.close();
}

async function runInChromium(names) {
  for (const name of names) await bundle(name);
  const server = createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname.slice(1);
    if (name === '' || name === 'index.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bench</title>');
    } else if (/^[a-z-]+\.js$/.test(name) && names.includes(name.slice(0, -3))) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(out, name)));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    for (const name of names) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.error(`[${name}] ${e.message}`));
      await page.goto(`http://127.0.0.1:${server.address().port}/`);
      const result = await page.evaluate(async (src) => (await import(src)).run(), `/${name}.js`);
      print(result);
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
}

const browserNames = BROWSER_BENCHES.filter(selected);
if (browserNames.length) await runInChromium(browserNames);
if (selected('size')) {
  for (const entry of BUDGETS) {
    const r = await measure(entry);
    print({
      name: `size: ${r.name} with its dependencies, minified + brotli`,
      figures: { 'minified (bytes)': r.minified, 'brotli (bytes)': r.brotli },
      target: `≤ ${r.budget} bytes`,
      met: r.ok,
    });
  }
}
