/**
 * `@perch/elements/locale-switch`: the language switch without any catalogue, for hosts that
 * load catalogues their own way (the script-tag embed fetches each as a separate file, only when
 * asked for). Most apps want `setPerchLocale()` of `@perch/elements/localization` instead.
 */
import type { LocaleModule } from '@lit/localize';
import { configureLocalization } from '@lit/localize/init/runtime.js';
import { setFormatLocale } from './internal/locale.js';

/** The languages Perch ships: English (the source), Simplified Chinese and Arabic. */
export const PERCH_LOCALES = ['en', 'zh-Hans', 'ar'] as const;
export type PerchLocale = (typeof PERCH_LOCALES)[number];

let controls: ReturnType<typeof configureLocalization> | undefined;

/**
 * Switches every Perch component to `locale`, with `loadLocale` giving the templates of a
 * language other than English; resolves once they are loaded and the components re-render.
 * Dates and times follow the same locale.
 */
export async function switchPerchLocale(locale: PerchLocale, loadLocale: (locale: string) => Promise<LocaleModule>): Promise<void> {
  if (!PERCH_LOCALES.includes(locale)) {
    throw new RangeError(`Perch has no "${locale}" catalogue; use one of ${PERCH_LOCALES.join(', ')}.`);
  }
  try {
    controls ??= configureLocalization({ sourceLocale: 'en', targetLocales: PERCH_LOCALES.slice(1), loadLocale });
  } catch (error) {
    throw new Error(
      'This page configures @lit/localize itself, and it can be configured only once: add loadPerchTemplates() to your own loadLocale instead of calling setPerchLocale().',
      { cause: error },
    );
  }
  // Before the switch, which re-renders the components; back to the current one should it fail.
  const format = (to: string) => setFormatLocale(to === 'en' ? undefined : to);
  format(locale);
  await controls.setLocale(locale).catch((error: unknown) => {
    format(controls!.getLocale());
    throw error;
  });
}
