// What the components use of @lit/localize, imported from its own modules: the package index
// would also bring configureLocalization() and its module state (~0.1 KiB brotli), which only the
// `@perch/elements/localization` entry needs. `msg` stays the one live binding (of
// init/install.js) that configureLocalization() replaces with the runtime implementation.
export { msg } from '@lit/localize/init/install.js';
export { str } from '@lit/localize/internal/str-tag.js';
export { LOCALE_STATUS_EVENT, type LocaleStatusEventDetail } from '@lit/localize/internal/locale-status-event.js';
