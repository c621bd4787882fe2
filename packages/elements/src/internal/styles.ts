import { unsafeCSS } from 'lit';

// Every style sheet of the components is constant text written in this package, never anything
// from a user or a page, so `unsafeCSS` is safe for it. It is used instead of the `css` tag because
// no sheet interpolates a value: the tag's checks of interpolated values would be its only use, and
// they cost ~0.1 KiB brotli in the bundle. Each line of a sheet ends with `\`, a line continuation:
// the line breaks are not part of the string, so they are not shipped (~30 B brotli).

/**
 * Shared by every component. Public tokens are `--perch-*` (see docs/theming.md); each has a
 * light and a dark default through `light-dark()`, chosen by `prefers-color-scheme` unless the
 * element has `theme="light"` or `theme="dark"`. The `!important` resets stop the host page's
 * inherited text styles (font, colour, spacing, alignment, direction set by CSS) from leaking
 * in: inside a shadow root, `!important` on `:host` outranks the page. Layout uses logical
 * properties only, so `dir="rtl"` mirrors everything. Written compactly: these bytes ship as is.
 * The presence colours (`--perch-online`, `--perch-away`, `--perch-busy`) are used once each,
 * directly, with a single default for both schemes.
 *
 * `.f` is the frame of the lists (chat pane, buddy list, feed; each sets `--_h`). It carries its
 * own bounded height, so the page's CSS on the host element (another `display`, no height,
 * `all: unset`) can never let a list grow to its full length and render every row: it fills the
 * host when the host's height is definite, and is `--_h` tall otherwise (percentages of an
 * indefinite height are ignored). `.v` is a list's scroller (see virtualizer.ts).
 */
export const base = unsafeCSS(`\
:host{color-scheme:light dark;display:block;box-sizing:border-box;block-size:var(--_h);border:1px solid var(--_bd);overflow:hidden;\
--_bg:var(--perch-bg,light-dark(#fff,#1d1d21));--_fg:var(--perch-fg,light-dark(#1d1d21,#ececf1));\
--_mu:var(--perch-muted,light-dark(#5c5f66,#a9abb3));--_sf:var(--perch-surface,light-dark(#f0f2f5,#2b2c31));\
--_bd:var(--perch-border,light-dark(#c9ccd1,#45464d));--_ac:var(--perch-accent,light-dark(#1657c9,#8ab4f8));\
--_af:var(--perch-accent-fg,light-dark(#fff,#0d1b33));--_er:var(--perch-danger,light-dark(#b3261e,#f2b8b5));\
--_r:var(--perch-radius,8px);--_s:var(--perch-space,8px);background:var(--_bg);border-radius:var(--_r);\
font:400 var(--perch-font-size,medium)/1.45 var(--perch-font,system-ui,sans-serif)!important;\
color:var(--_fg)!important;letter-spacing:normal!important;word-spacing:normal!important;text-align:start!important;\
text-transform:none!important;text-indent:0!important;white-space:normal!important;text-shadow:none!important}\
:host(:dir(ltr)){direction:ltr!important}\
:host(:dir(rtl)){direction:rtl!important}\
:host([theme=light]){color-scheme:light}\
:host([theme=dark]){color-scheme:dark}\
:host([hidden]){display:none}\
*,::before,::after{box-sizing:inherit}\
button,input,textarea,select{font:inherit;color:inherit;border:1px solid var(--_bd);border-radius:var(--_r)}\
button,select{cursor:pointer}\
button{background:var(--_sf);padding:2px 10px}\
button.primary{background:var(--_ac);color:var(--_af);border-color:var(--_ac)}\
button:disabled{opacity:.55;cursor:default}\
input,textarea,select{background:var(--_bg);padding:4px 8px}\
:focus-visible{outline:2px solid var(--_ac);outline-offset:1px}\
a{color:var(--_ac)}\
p{margin:0}\
.u{unicode-bidi:isolate;overflow-wrap:anywhere}\
.mu{color:var(--_mu);font-size:.85em}\
.row{display:flex;gap:var(--_s);align-items:center}\
.av{flex:none;inline-size:2.5em;block-size:2.5em;border-radius:50%;object-fit:cover;display:inline-grid;place-items:center;background:var(--_sf);color:var(--_fg);font-weight:600;overflow:hidden}\
.dot{display:inline-block;inline-size:.6em;block-size:.6em;border-radius:50%;background:var(--_mu);flex:none}\
.dot[data-show=online]{background:var(--perch-online,#1e8e3e)}\
.dot[data-show=away]{background:var(--perch-away,#e37400)}\
.dot[data-show=dnd]{background:var(--perch-busy,#d93025)}\
.sr{position:absolute;inline-size:1px;block-size:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}\
.badge{background:var(--_ac);color:var(--_af);border-radius:1em;padding:0 .5em;font-size:.8em;font-weight:600}\
.banner{background:var(--_sf);color:var(--_mu);padding:2px var(--_s);font-size:.85em}\
.banner:empty{display:none}\
.err{color:var(--_er)}\
.f{display:flex;flex-direction:column;block-size:var(--_h);min-block-size:100%;max-block-size:100%;contain:content}\
.v{overflow-y:auto;overflow-anchor:none;position:relative;flex:1;min-block-size:0;overscroll-behavior:contain}\
`);
