export type {
  CheckFailure,
  CheckOptions,
  CheckResult,
  Model,
  Operation,
  Verdict,
} from './types.js';
export { checkHistory, describeOperation } from './check.js';
export { kvModel, registerModel } from './models.js';
export type { KvInput, KvOutput, RegisterInput, RegisterOutput, RegisterValue } from './models.js';
export { HistoryParseError, parseJepsenRegisterLog, parseKvEdnHistory } from './parse.js';
