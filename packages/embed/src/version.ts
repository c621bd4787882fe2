/** This bundle's version; `Perch.version`. Kept equal to package.json's by version.test.ts. */
export const VERSION = '0.1.0';
