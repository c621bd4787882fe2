// @web/test-runner: browser tests in Debian's Chromium (see scripts/ensure-chromium.mjs).
//   npx web-test-runner                      # all browser tests
//   npx web-test-runner --files 'packages/core/src/**/*.browser.test.ts'
// Tests are mocha-style (global describe/it) and use `import { expect } from 'chai'`.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { defaultReporter } from '@web/test-runner';
import { chromeLauncher } from '@web/test-runner-chrome';
import { countReporter } from './scripts/wtr-count-reporter.mjs';

export default {
  files: ['packages/*/src/**/*.browser.test.ts', 'test/browser/**/*.test.ts'],
  // `source` first: @perch/* packages are served from their TypeScript sources, no build needed.
  nodeResolve: { exportConditions: ['source', 'browser', 'development'] },
  plugins: [
    // tsconfig.base.json carries experimentalDecorators/useDefineForClassFields (the plugin reads
    // the file as-is, without following `extends`); `./x.js` imports resolve to `./x.ts`.
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: 'tsconfig.base.json' }),
  ],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: '/usr/bin/chromium',
        // Puppeteer also adds --headless=new and a fresh temporary --user-data-dir (removed on exit).
        headless: true,
        args: [
          '--headless=new',
          '--no-sandbox', // CI runs as root
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      },
    }),
  ],
  concurrency: 1,
  concurrentBrowsers: 1,
  browserStartTimeout: 60_000,
  testsStartTimeout: 60_000,
  testsFinishTimeout: 180_000,
  testFramework: { config: { ui: 'bdd', timeout: 20_000 } },
  reporters: [defaultReporter(), countReporter()],
};
