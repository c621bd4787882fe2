// What a page using the components really loads: every tag registered, Lit, and the core.
export * from '@perch/elements';
import '@perch/elements/define';
export { createClient } from '@perch/core';
