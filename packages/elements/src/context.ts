import { createContext } from '@lit/context';
import type { PerchClient } from '@perch/core';

/**
 * The Lit context that carries a {@link PerchClient} from `<perch-provider>` to every Perch
 * component inside it. Keyed by a global symbol, so two copies of this package still agree.
 */
export const clientContext = createContext<PerchClient | undefined>(Symbol.for('perch-client'));
