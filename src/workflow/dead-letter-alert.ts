import type { Config } from '../config.js';
import type { Driver } from '../drivers/driver.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import type { QueueStats } from '../job.js';

const WEBHOOK_TIMEOUT_MS = 5_000;

export interface DeadLetterAlertOptions {
  driver: Driver;
  logger: Logger;
  metrics: WorkerMetrics;
  config: Pick<Config, 'deadLetterAlertThreshold' | 'deadLetterAlertWebhookUrl'>;
}

/**
 * The dead-letter alert, fed by each queue-statistics reading: when a queue's failed count grew by
 * its threshold since the last alert, check_dead_letter_alert lets exactly one worker of the fleet
 * fire it: an error log line, supajobs_dead_letter_alerts_total, and the webhook when set.
 * Returns undefined when no threshold is configured.
 */
export function deadLetterAlert(options: DeadLetterAlertOptions): ((stats: QueueStats[]) => Promise<void>) | undefined {
  const thresholds = options.config.deadLetterAlertThreshold;
  if (!thresholds) return undefined;
  return async (stats) => {
    for (const s of stats) {
      const threshold = thresholds[s.queue] ?? thresholds['*'];
      if (threshold === undefined) continue;
      const fired = await options.driver.call<boolean>('check_dead_letter_alert', { queue: s.queue, failed: s.failed, threshold });
      if (!fired) continue;
      const alert = { alert: 'dead-letter', queue: s.queue, failed: s.failed, threshold, at: new Date().toISOString() };
      options.metrics.deadLetterAlerts.inc({ queue: s.queue });
      options.logger.error(alert, `dead-letter alert: queue "${s.queue}" has ${s.failed} failed jobs`);
      if (options.config.deadLetterAlertWebhookUrl) await postWebhook(options.config.deadLetterAlertWebhookUrl, alert, options.logger);
    }
  };
}

async function postWebhook(url: string, body: unknown, logger: Logger): Promise<void> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    // The URL may hold a token: it is never logged.
    if (!response.ok) logger.warn({ status: response.status }, 'dead-letter alert webhook answered with an error');
  } catch (error) {
    logger.warn({ reason: (error as Error).message }, 'dead-letter alert webhook failed');
  }
}
