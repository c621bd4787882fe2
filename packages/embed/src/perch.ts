// The script-tag bundle's entry (dist/perch.js, an IIFE): installs `window.Perch` from this very
// script tag's data-* attributes. `document.currentScript` is only set while this runs, so read it
// now. It is null in a `type="module"` script, where the tag's settings cannot be read: say so.
import { installPerch } from './api.js';

const script = document.currentScript as HTMLScriptElement | null;
if (!script) console.warn('Perch: load perch.js with a classic <script>, not type="module", or it cannot read its data-* settings.');
installPerch(window, script);
