export { register, Registration } from './register.js';
export type { RegisterOptions } from './register.js';
export { discover, ServiceView } from './discover.js';
export type { DiscoverOptions, ServiceChange } from './discover.js';
export { createPicker } from './pickers.js';
export type { PickStrategy, Picker, Random } from './pickers.js';
export { DEFAULT_PREFIX, instanceKey, parseInstance } from './instance.js';
export type { Instance } from './instance.js';
