// `npm run manifest`: generates packages/elements/custom-elements.json — the Custom Elements
// Manifest that editors and frameworks read — from the components' JSDoc (`@summary @slot @event
// @csspart @cssproperty`) and their Lit `static properties`, with @custom-elements-manifest/analyzer
// (its Lit plugin). The file is committed; packages/elements/src/manifest.test.ts fails when it is
// stale.
//
//   node scripts/manifest.mjs                 # writes packages/elements/custom-elements.json
//   node scripts/manifest.mjs --out <dir>     # writes <dir>/custom-elements.json instead
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { create, ts } from '@custom-elements-manifest/analyzer';
// The analyzer's CLI flag --litelement loads this plugin; it has no public export of its own.
import { litPlugin } from '@custom-elements-manifest/analyzer/src/features/framework-plugins/lit/lit.js';
import { resolveModuleOrPackageSpecifier } from '@custom-elements-manifest/analyzer/src/utils/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(root, 'packages/elements');

/**
 * The package's source modules: every .ts under src/, but no test (nor test fixture) file, and not
 * the translation catalogues (data, not API).
 */
function sources(dir = join(pkg, 'src'), out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'locales') sources(path, out);
    }
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/**
 * Perch registers its tags with its own `define(tag, Class)` (it warns instead of throwing when a
 * tag is taken), which the analyzer does not know: record those calls as custom element
 * definitions, as it does for `customElements.define`, so each class gets its tag name. The
 * `customElements.define(tag, ctor)` inside that helper is not a definition: it is dropped, and
 * so are private (`#name`) members, which are no one's API.
 */
function perchDefineCalls() {
  return {
    name: 'perch-define-calls',
    analyzePhase({ ts, node, moduleDoc, context }) {
      if (!ts.isCallExpression(node) || !ts.isIdentifier(node.expression) || node.expression.text !== 'define') return;
      const [tag, element] = node.arguments;
      if (!tag || !ts.isStringLiteral(tag) || !element || !ts.isIdentifier(element)) return;
      const declaration = { name: element.text, ...resolveModuleOrPackageSpecifier(moduleDoc, context, element.text) };
      moduleDoc.exports = [...(moduleDoc.exports ?? []), { kind: 'custom-element-definition', name: tag.text, declaration }];
    },
    packageLinkPhase({ customElementsManifest }) {
      const classes = new Set(customElementsManifest.modules.flatMap((m) => m.declarations ?? []).filter((d) => d.kind === 'class').map((d) => d.name));
      for (const m of customElementsManifest.modules) {
        m.exports = m.exports?.filter((e) => e.kind !== 'custom-element-definition' || classes.has(e.declaration.name));
        for (const d of m.declarations ?? []) if (d.members) d.members = d.members.filter((member) => member.privacy !== 'private');
      }
    },
  };
}

/** The manifest as the text of custom-elements.json (stable: sorted inputs, no timestamps). */
export function manifestText() {
  const modules = sources()
    .map((path) => relative(pkg, path).split(sep).join('/'))
    .sort()
    .map((path) => ts.createSourceFile(path, readFileSync(join(pkg, path), 'utf8'), ts.ScriptTarget.ES2022, true));
  const manifest = create({ modules, plugins: [...litPlugin(), perchDefineCalls()], context: { dev: false } });
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--out');
  const dir = at > 0 ? process.argv[at + 1] : pkg;
  if (!dir) {
    console.error('manifest: --out needs a directory.');
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'custom-elements.json');
  writeFileSync(file, manifestText());
  console.log(`manifest: wrote ${relative(process.cwd(), file) || file}`);
}
