/**
 * Perch in a React 19 app, against `perch-server --demo` (which serves this page). The Perch
 * elements are registered BEFORE React renders: React 19 sets a prop as a property only on an
 * element that has it, i.e. one already defined (see perch-jsx.ts).
 */
import '@perch/elements/define';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';

createRoot(document.getElementById('app')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
