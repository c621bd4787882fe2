// The body of a locale script (perch.zh-Hans.js, perch.ar.js): the catalogue as templates of
// @lit/localize's runtime mode, handed to the perch.js that loaded it (see scripts.ts).
import { toTemplates, type Catalogue } from '@perch/elements/localization';
import { deliver } from './scripts.js';

/** Delivers `catalogue` to the embed that loaded this script. */
export function announceLocale(catalogue: Catalogue): void {
  deliver({ templates: toTemplates(catalogue) });
}
