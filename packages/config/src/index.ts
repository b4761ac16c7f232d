export { Config } from './config.js';
export { watchConfig } from './watchConfig.js';
export type { ConfigChange, ConfigOptions, InstanceIdentity } from './config.js';
export { history, rollback, valueAt } from './history.js';
export type { HistoryOptions, Version } from './history.js';
export { abortRollout, checkTarget, describeTarget, promoteRollout, readRollout, rolloutBucket, rolloutStatus, selects, startRollout, INSTANCES, ROLLOUT_STATE } from './rollout.js';
export type { InstanceReport, Rollout, RolloutEnd, RolloutRecord, RolloutStep, RolloutTarget } from './rollout.js';
export { checkField, normalisePrefix } from './fields.js';
