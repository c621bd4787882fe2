/**
 * Registers `ctor` as `<tag>`. A page may load Perch twice (two script tags, two bundles): then
 * the first definition stays and this one only warns, instead of throwing as
 * `customElements.define` would.
 */
export function define(tag: string, ctor: CustomElementConstructor): void {
  const existing = customElements.get(tag);
  if (!existing) customElements.define(tag, ctor);
  else if (existing !== ctor) {
    console.warn(`Perch: <${tag}> is already defined, probably because Perch was loaded twice on this page; the first definition stays in use.`);
  }
}
