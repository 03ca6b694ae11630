/**
 * Imported first by a fuzz file whose handler logs every bad record at ERROR (thousands of lines of noise): the
 * functions' logger reads its level when it is created, and resets to that level on every invocation, so the level
 * must be in the environment before any module that creates it is loaded.
 */
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
