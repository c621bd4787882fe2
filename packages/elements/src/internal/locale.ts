/**
 * The locale for dates, times and numbers (`Intl`). `undefined` means the browser's own; the
 * localization entry (`@perch/elements/localization`) sets it when a catalogue is loaded.
 */
export let activeLocale: string | undefined;

/** Sets the locale used by every `Intl` formatter of the components. */
export function setFormatLocale(locale: string | undefined): void {
  activeLocale = locale;
}
