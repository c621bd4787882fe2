import { unsafeCSS } from 'lit';

// Constant text: see internal/styles.ts for why `unsafeCSS`, and the `\` ending each line.

export const styles = unsafeCSS(`\
:host{--_h:var(--perch-height,30em)}\
[role=log]{padding-inline:var(--_s)}\
[role=log]:focus-visible{outline-offset:-2px}\
.m{display:flex;flex-direction:column;align-items:flex-start;padding-block-start:var(--_s)}\
.m.g{padding-block-start:2px}\
.me{align-items:flex-end}\
.sep{align-self:stretch;text-align:center;margin-block:4px}\
.new{color:var(--_er);border-block-start:1px solid;font-size:.85em}\
.b{background:var(--_sf);border-radius:var(--_r);padding:4px 10px;max-inline-size:85%;white-space:pre-wrap!important}\
.me .b{background:var(--_ac);color:var(--_af)}\
.me .b a{color:inherit;outline-color:currentColor}\
.m[data-state=failed] .b{outline:1px solid var(--_er)}\
@media (hover:hover){.m:not(:hover,:focus-within) .act{opacity:0}}\
.st button{font-size:.85em;padding:0 6px}\
form{display:flex;gap:var(--_s);padding:var(--_s);border-block-start:1px solid var(--_bd);align-items:end}\
textarea{flex:1;resize:none}\
.info{padding-inline:var(--_s);min-block-size:1.45em}\
.h{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\
`);
