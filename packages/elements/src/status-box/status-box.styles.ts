import { unsafeCSS } from 'lit';

// Constant text: see internal/styles.ts for why `unsafeCSS`, and the `\` ending each line.

export const styles = unsafeCSS(`\
:host{padding:var(--_s)}\
textarea{inline-size:100%;min-block-size:4.5em;resize:vertical;display:block}\
.row{flex-wrap:wrap;margin-block-start:var(--_s)}\
.grow{flex:1}\
input{flex:1;min-inline-size:8em}\
[data-over]{color:var(--_er);font-weight:600}\
`);
