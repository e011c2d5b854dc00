// Structured logging for lvsd: JSON lines for journald and pipes, one readable line on a terminal.
//   const log = loggerFromConfig(config.global.log);
//   const vlog = log.child({ component: 'vrrp', instance: 'VI_1' });
//   vlog.transition('backup', 'master', 'master down interval expired');
//   vlog.error('cannot add VIP', { err });   // Errors keep name, message, code, errno, the kernel's words
import type { GlobalConfig } from '../config/model.js';
import { createLogger, type Logger, type LoggerOptions } from './logger.js';

export { formatJson, formatText, LOG_LEVELS, type LogFields, type LogLevel, type LogRecord, type TextOptions } from './format.js';
export { createLogger, isJournalStream, resolveFormat, silentLogger, type LogFormat, type Logger, type LoggerOptions, type LogSettings, type LogSink } from './logger.js';
export { toLogValue, type LogValue } from './value.js';
export { rateLimitedLogger, type RateLimitedLogger, type RateLimitOptions } from './rate-limit.js';

/** The daemon's root logger from `global.log`; on reload call `log.configure(newConfig.global.log)`. */
export function loggerFromConfig(cfg: GlobalConfig['log'], options: Omit<LoggerOptions, 'level' | 'format'> = {}): Logger {
  return createLogger({ ...options, level: cfg.level, format: cfg.format });
}
