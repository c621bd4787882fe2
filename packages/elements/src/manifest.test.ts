// A Node test (node --test), unlike the *.browser.test.ts files: it checks custom-elements.json.
/// <reference types="node" />
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const committedPath = join(root, 'packages/elements/custom-elements.json');
const out = mkdtempSync(join(tmpdir(), 'perch-manifest-'));
after(() => rmSync(out, { recursive: true, force: true }));

execFileSync(process.execPath, [join(root, 'scripts/manifest.mjs'), '--out', out], { cwd: root, stdio: 'pipe' });
const fresh = readFileSync(join(out, 'custom-elements.json'), 'utf8');

interface Named {
  name: string;
}
interface Declaration extends Named {
  kind: string;
  tagName?: string;
  events?: Named[];
  cssParts?: Named[];
  cssProperties?: Named[];
  slots?: Named[];
  attributes?: Named[];
}
interface Manifest {
  modules: Array<{ path: string; declarations?: Declaration[]; exports?: Array<{ kind: string; name: string }> }>;
}

const manifest = JSON.parse(fresh) as Manifest;
const elements = new Map(manifest.modules.flatMap((m) => m.declarations ?? []).filter((d) => d.tagName).map((d) => [d.tagName!, d]));
const names = (list: Named[] | undefined) => (list ?? []).map((item) => item.name).sort();

/** The rows of the table under `## heading` in docs/theming.md: first cell → the backticked names in the second. */
function docsTable(heading: string): Map<string, string[]> {
  const docs = readFileSync(join(root, 'docs/theming.md'), 'utf8');
  const section = docs.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  assert.ok(section, `docs/theming.md has a "## ${heading}" section`);
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    if (cells.length < 4 || !cells[1]!.startsWith('`')) continue;
    rows.set(cells[1]!, [...cells[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
  }
  return rows;
}

test('custom-elements.json is up to date with the JSDoc (else: run `npm run manifest` and commit it)', () => {
  let committed = '';
  try {
    committed = readFileSync(committedPath, 'utf8');
  } catch {
    assert.fail('packages/elements/custom-elements.json is missing: run `npm run manifest` and commit it.');
  }
  // Not deepEqual: a 100 KB diff would hide the one thing to do.
  assert.ok(committed === fresh, 'packages/elements/custom-elements.json is stale: run `npm run manifest` and commit it.');
});

test('the manifest describes only the package sources, not its tests', () => {
  const paths = manifest.modules.map((m) => m.path);
  assert.ok(paths.includes('src/index.ts'));
  assert.deepEqual(
    paths.filter((p) => /\.test\.|testing/.test(p)),
    [],
  );
});

test('all six tags are declared, each defined by its define module', () => {
  assert.deepEqual([...elements.keys()].sort(), [
    'perch-buddy-list',
    'perch-chat-pane',
    'perch-feed',
    'perch-profile-card',
    'perch-provider',
    'perch-status-box',
  ]);
  const definitions = manifest.modules.flatMap((m) => (m.exports ?? []).filter((e) => e.kind === 'custom-element-definition').map((e) => `${m.path} ${e.name}`));
  assert.deepEqual(definitions.sort(), [...elements.keys()].sort().map((tag) => `src/${tag.slice(6)}/${tag.slice(6)}.define.ts ${tag}`));
  assert.deepEqual(names(elements.get('perch-provider')!.slots), ['']);
});

test('every component declares the css parts and events that docs/theming.md documents', () => {
  const parts = docsTable('Parts');
  const events = docsTable('Events');
  for (const [tag, element] of elements) {
    if (tag === 'perch-provider') continue;
    assert.deepEqual(names(element.cssParts), (parts.get(`\`<${tag}>\``) ?? []).sort(), `${tag}: css parts`);
    assert.ok(element.cssParts!.length > 0, `${tag} has parts`);
    const documented = (events.get(`\`<${tag}>\``) ?? []).filter((name) => name.startsWith('perch-'));
    assert.deepEqual(names(element.events), documented.sort(), `${tag}: events`);
  }
  assert.deepEqual(names(elements.get('perch-buddy-list')!.events), ['perch-open-chat', 'perch-open-profile']);
  assert.deepEqual(names(elements.get('perch-status-box')!.events), ['perch-posted']);
});

test('every component declares the --perch-* tokens of docs/theming.md, and its attributes', () => {
  const tokens = [...docsTable('Tokens').keys()].flatMap((cell) => [...cell.matchAll(/`(--perch-[a-z-]+)`/g)].map((m) => m[1]!));
  assert.ok(tokens.length >= 15, 'the tokens table was read');
  const lists = ['perch-buddy-list', 'perch-chat-pane', 'perch-feed'];
  for (const [tag, element] of elements) {
    if (tag === 'perch-provider') continue;
    const expected = tokens.filter((token) => token !== '--perch-height' || lists.includes(tag));
    assert.deepEqual(names(element.cssProperties), expected.sort(), `${tag}: css properties`);
    assert.ok(names(element.attributes).includes('theme'), `${tag}: the theme attribute`);
  }
  assert.deepEqual(names(elements.get('perch-chat-pane')!.attributes), ['conversation', 'mention-href', 'tag-href', 'theme', 'with']);
  assert.deepEqual(names(elements.get('perch-status-box')!.attributes), ['limit', 'theme']);
  assert.deepEqual(names(elements.get('perch-profile-card')!.attributes), ['theme', 'user-id']);
});
