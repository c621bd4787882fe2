export { MemoryHub, type Authenticated, type MemoryHubOptions } from './hub.js';
export { MEMORY_CAPABILITIES, memoryBackend, type MemoryBackendOptions } from './memory-backend.js';
export { seededRandom, type Faults, type RejectInput, type RejectPredicate } from './faults.js';
