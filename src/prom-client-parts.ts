import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

/*
 * prom-client's classes, required file by file: its index also loads the default metrics (and
 * OpenTelemetry's API with them), the Pushgateway, summaries and the cluster aggregator, about 40 ms
 * of a worker's start. These are the files the index exports, so the classes are the same ones.
 */
const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof PromClient.Registry;
export const Counter = require('prom-client/lib/counter') as typeof PromClient.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof PromClient.Gauge;
export const Histogram = require('prom-client/lib/histogram') as typeof PromClient.Histogram;

/** Loaded when first asked for (see WorkerMetrics.collectDefaults). */
export function loadCollectDefaultMetrics(): typeof PromClient.collectDefaultMetrics {
  return require('prom-client/lib/defaultMetrics') as typeof PromClient.collectDefaultMetrics;
}
