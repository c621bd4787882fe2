// The script-tag bundle's entry (dist/perch.js, an IIFE): installs `window.Perch` from this very
// script tag's data-* attributes. `document.currentScript` is only set while this runs, so read it now.
import { installPerch } from './api.js';

installPerch(window, document.currentScript instanceof HTMLScriptElement ? document.currentScript : null);
