/**
 * `@perch/elements/localization`: switches the components' language at run time.
 *
 * Components write every UI text with `msg()` of `@lit/localize` (runtime mode) and English as the
 * source. The catalogues (`locales/zh-Hans.ts`, `locales/ar.ts`) are hand-written modules keyed by
 * the English text and are loaded only when asked for. This module is a separate entry point so
 * a page that stays in English loads neither this code nor any catalogue.
 *
 * ```ts
 * import { setPerchLocale } from '@perch/elements/localization';
 * await setPerchLocale('zh-Hans'); // every Perch component re-renders in Chinese
 * document.documentElement.dir = 'rtl'; // for 'ar': direction comes from the page's dir attribute
 * ```
 */
import type { LocaleModule, StrResult } from '@lit/localize';
import { generateMsgId } from '@lit/localize/internal/id-generation.js';
import { PERCH_LOCALES, switchPerchLocale, type PerchLocale } from './locale-switch.js';

export { PERCH_LOCALES, type PerchLocale };

/**
 * A hand-written catalogue: English source text → translation. In a message with values
 * (`msg(str\`${count} new posts\`)`), `${0}`, `${1}`… stand for the values in source order; a
 * translation may move them.
 */
export type Catalogue = Readonly<Record<string, string>>;

const catalogues: Record<Exclude<PerchLocale, 'en'>, () => Promise<{ catalogue: Catalogue }>> = {
  'zh-Hans': () => import('./locales/zh-Hans.js'),
  ar: () => import('./locales/ar.js'),
};

/** Turns a catalogue into lit-localize runtime templates, keyed by the ids `msg()` computes. */
export function toTemplates(catalogue: Catalogue): LocaleModule['templates'] {
  const templates: LocaleModule['templates'] = {};
  for (const [source, target] of Object.entries(catalogue)) {
    const id = generateMsgId(source.split(/\$\{\d+\}/), false);
    const parts = target.split(/\$\{(\d+)\}/);
    templates[id] =
      parts.length === 1
        ? target
        : ({
            strTag: true,
            strings: parts.filter((_, i) => i % 2 === 0),
            values: parts.filter((_, i) => i % 2 === 1).map(Number),
          } as unknown as StrResult);
  }
  return templates;
}

/**
 * Loads Perch's templates for `locale`. Use it from your own `loadLocale` when your page
 * configures `@lit/localize` itself (it can be configured only once per page): merge Perch's
 * templates into yours.
 */
export async function loadPerchTemplates(locale: string): Promise<LocaleModule> {
  const load = catalogues[locale as Exclude<PerchLocale, 'en'>];
  return { templates: load ? toTemplates((await load()).catalogue) : {} };
}

/**
 * Switches every Perch component to `locale` ('en', 'zh-Hans' or 'ar'); resolves once the
 * catalogue is loaded and the components re-render. Dates and times follow the same locale.
 */
export function setPerchLocale(locale: PerchLocale): Promise<void> {
  return switchPerchLocale(locale, loadPerchTemplates);
}
