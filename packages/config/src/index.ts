export { Config, watchConfig } from './config.js';
export type { ConfigChange, ConfigOptions } from './config.js';
export { history, rollback, valueAt } from './history.js';
export type { HistoryOptions, Version } from './history.js';
