// Makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests.
// As root (CI, containers): apt-get update && apt-get install -y chromium, output streamed.
// Otherwise: explain what to run and exit 1. Never downloads a browser any other way.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';

function run(command, args, env = process.env) {
  console.log(`$ ${command} ${args.join(' ')}`);
  const { status, error } = spawnSync(command, args, { stdio: 'inherit', env });
  if (error) console.error(`ensure-chromium: ${command}: ${error.message}`);
  return status === 0;
}

export function ensureChromium() {
  if (existsSync(CHROMIUM)) return true;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(
      `Browser tests need Debian's chromium at ${CHROMIUM}: run \`sudo apt-get install chromium\` ` +
        '(then re-run the tests). No other browser is downloaded.',
    );
    return false;
  }
  console.log(`ensure-chromium: ${CHROMIUM} is missing; installing Debian's chromium with apt-get...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const ok = run('apt-get', ['update'], env) && run('apt-get', ['install', '-y', 'chromium'], env);
  if (!ok || !existsSync(CHROMIUM)) {
    console.error(`ensure-chromium: could not install chromium (${CHROMIUM} still missing).`);
    return false;
  }
  console.log(`ensure-chromium: installed ${CHROMIUM}`);
  return true;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exit(ensureChromium() ? 0 : 1);
}
