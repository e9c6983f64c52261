/**
 * Powertools in the tests, as in the local cloud: no metrics written (their embedded-metric JSON would fill the output),
 * no tracing (no X-Ray daemon). Set in the global setup, so every worker inherits it; a test that reads the metrics
 * turns them on around itself.
 */
export function quietPowertools(): void {
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
}
