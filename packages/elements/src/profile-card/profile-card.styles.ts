import { unsafeCSS } from 'lit';

// Constant text: see internal/styles.ts for why `unsafeCSS`, and the `\` ending each line.

export const styles = unsafeCSS(`\
:host{padding:calc(var(--_s)*2);max-inline-size:24em}\
.top{align-items:start}\
.av{inline-size:4em;block-size:4em;font-size:1.25em}\
strong{display:block;font-size:1.15em}\
p{margin-block-start:4px;overflow-wrap:anywhere}\
.row{flex-wrap:wrap;gap:4px var(--_s)}\
button{margin-block-start:var(--_s)}\
`);
