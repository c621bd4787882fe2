import { unsafeCSS } from 'lit';

// Constant text: see internal/styles.ts for why `unsafeCSS`. One string of rules, without the
// line breaks a template literal would ship (the minifier joins the pieces).

export const styles = unsafeCSS(
  ':host{--_h:var(--perch-height,36em)}' +
    'article{padding:var(--_s) calc(var(--_s)*1.5);border-block-end:1px solid var(--_bd)}' +
    // The posts, and the status line that keeps the focus while Retry works: a ring inside them.
    '[tabindex]:focus-visible{outline-offset:-2px}' +
    '.t{margin-block:4px;white-space:pre-wrap!important}' +
    'footer button{background:none;border-color:transparent;color:var(--_mu)}' +
    '[aria-pressed=true]{color:var(--_er)}' +
    '.new{align-self:center;margin:4px}' +
    '.mention,.tag{color:var(--_ac)}' +
    'textarea{flex:1;resize:vertical}' +
    '.end{padding:var(--_s);text-align:center}',
);
