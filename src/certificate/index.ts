/**
 * One certificate, one type, from discovery to disk (`certificate.ts`), and one schema for what
 * happened to it, from the download job's return value to the library's answer (`result.ts`).
 */
export * from './certificate.ts';
export * from './result.ts';
