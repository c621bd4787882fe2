import { unsafeCSS } from 'lit';

// Constant text: see internal/styles.ts for why `unsafeCSS`, and the `\` ending each line.

export const styles = unsafeCSS(`\
:host{--_h:var(--perch-height,30em)}\
input{margin:var(--_s)}\
.r{padding:4px var(--_s);padding-inline-start:calc(var(--_s)*3);cursor:pointer;flex-wrap:wrap;gap:0 6px;outline-offset:-2px}\
.r:hover,.r:focus{background:var(--_sf)}\
[aria-level="1"]{padding-inline-start:var(--_s);font-weight:600}\
[aria-level="1"]::before{content:'▾';inline-size:1em}\
[aria-expanded=false]::before{content:'▸'}\
:host(:dir(rtl)) [aria-expanded=false]::before{content:'◂'}\
.name{flex:1 1 60%}\
.empty{padding:var(--_s)}\
`);
