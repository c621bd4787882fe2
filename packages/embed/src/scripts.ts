/**
 * What perch.js loads only when a page needs it: translations (perch.zh-Hans.js, perch.ar.js)
 * and the chat windows (perch.windows.js), each a small script beside perch.js. Such a script
 * hands what it brings to the <script> element that loaded it, in a `perch-script` event, so it
 * needs no global. Under Trusted Types the script URL comes from a policy named `perch` that
 * allows exactly these files.
 */

/** The event a Perch script fires on its own <script> element, with what it brings as `detail`. */
export const SCRIPT_EVENT = 'perch-script';

interface ScriptUrlPolicy {
  createScriptURL(url: string): unknown;
}
let policy: ScriptUrlPolicy | undefined;
const allowed = new Set<string>();

/** The value to assign to `script.src` for `url`: a TrustedScriptURL when the page enforces Trusted Types. */
function scriptUrl(url: string): string {
  const factory = (globalThis as { trustedTypes?: { createPolicy(name: string, rules: { createScriptURL(url: string): string }): ScriptUrlPolicy } }).trustedTypes;
  if (!factory) return url;
  allowed.add(url);
  policy ??= factory.createPolicy('perch', {
    createScriptURL(candidate) {
      if (allowed.has(candidate)) return candidate;
      throw new TypeError(`Perch's Trusted Types policy loads only Perch's own scripts, not ${candidate}.`);
    },
  });
  return policy.createScriptURL(url) as string;
}

/** Loads `perch.<name>.js` from beside `base` (perch.js's own URL) and resolves to what it brings. */
export function loadPerchScript<T>(name: string, base: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const url = new URL(`perch.${name}.js`, base).href;
    const script = document.createElement('script');
    script.addEventListener(SCRIPT_EVENT, (event) => resolve((event as CustomEvent<T>).detail), { once: true });
    script.addEventListener('error', () => reject(new Error(`Could not load ${url}.`)), { once: true });
    try {
      script.src = scriptUrl(url);
    } catch (error) {
      reject(new Error(`The page's Trusted Types settings do not allow the "perch" policy that loads ${url}: ${(error as Error).message}`));
      return;
    }
    document.head.append(script);
  });
}

/** The body of a Perch script: hands `value` to the perch.js that loaded it. */
export function deliver(value: unknown): void {
  document.currentScript?.dispatchEvent(new CustomEvent(SCRIPT_EVENT, { detail: value }));
}
