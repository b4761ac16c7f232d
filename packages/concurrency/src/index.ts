export { Session, DEFAULT_SESSION_TTL_SECONDS } from './session.js';
export type { SessionOptions } from './session.js';
export { Mutex } from './mutex.js';
export type { LockOptions } from './mutex.js';
export { Election, observeLeaders } from './election.js';
export type { CampaignOptions, Leader } from './election.js';
export type { WaitOptions } from './queue.js';
