// The configuration API the rest of lvsd uses.
export { loadConfig, parseConfig, summarize, type LoadResult } from './load.js';
export { formatIssue, type ConfigIssue } from './issues.js';
export type * from './model.js';
export { lvsdConfigSchema } from './model.js';
