// Sends one agent-shaped trace to an OTLP/HTTP endpoint with the official OpenTelemetry
// JavaScript exporter, the way a Node app would.
//
//   node send_spans.mjs URL json|proto N
//
// One root span `invoke_agent js-agent` and N-1 children `chat gpt-4o-mini`, each child with
// a `gen_ai.content.completion.chunk` event. Prints the root's trace id on the last stdout
// line. Exits 0 only if every export the exporter made was acknowledged with success; 1 on
// any failure (the SDK itself only logs most failures), 2 on bad usage.

import { context, diag, DiagConsoleLogger, DiagLogLevel, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const EXPORT_SUCCESS = 0; // ExportResultCode.SUCCESS in @opentelemetry/core

function usage(message) {
  console.error(`${message}\nusage: node send_spans.mjs URL json|proto N`);
  process.exit(2);
}

const [url, encoding, countText] = process.argv.slice(2);
const count = Number(countText);
if (!url || !['json', 'proto'].includes(encoding) || !Number.isInteger(count) || count < 1) {
  usage('bad arguments');
}

// Export failures reach the diag logger (stderr) only; warnings include partial successes.
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

const Exporter = encoding === 'json' ? JsonExporter : ProtoExporter;
const exporter = new Exporter({ url });

// forceFlush/shutdown do not reliably reject when an export fails (the span processors report
// errors to the global error handler and resolve), so record every ExportResult ourselves.
const results = [];
const export_ = exporter.export.bind(exporter);
exporter.export = (spans, resultCallback) => export_(spans, result => {
  results.push({ spans: spans.length, ...result });
  resultCallback(result);
});

const provider = new BasicTracerProvider({
  resource: defaultResource().merge(resourceFromAttributes({ 'service.name': `js-agent-${encoding}` })),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
const tracer = provider.getTracer('tracepane-interop', '1.0.0');

const root = tracer.startSpan('invoke_agent js-agent', {
  kind: SpanKind.SERVER,
  attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'js-agent' },
});
const inRoot = trace.setSpan(context.active(), root);
for (let i = 1; i < count; i++) {
  const chat = tracer.startSpan('chat gpt-4o-mini', {
    kind: SpanKind.CLIENT,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.temperature': 0.25,
      'gen_ai.usage.input_tokens': 100 + i,
      'gen_ai.usage.output_tokens': 20 + i,
      'gen_ai.response.finish_reasons': ['stop', 'length'],
      'app.stream': true,
      'app.cached': false,
      'big.int': Number.MAX_SAFE_INTEGER, // 9007199254740991
      'chat.index': i,
    },
  }, inRoot);
  chat.addEvent('gen_ai.content.completion.chunk', { 'gen_ai.completion.chunk': `Sunny, 2${i} °C`, 'chunk.index': i });
  if (i === count - 1) {
    chat.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
  }
  chat.end();
}
root.end();
const traceId = root.spanContext().traceId;

let failed = false;
for (const [step, call] of [['forceFlush', () => provider.forceFlush()], ['shutdown', () => provider.shutdown()]]) {
  try {
    await call();
  } catch (error) {
    console.error(`${step} failed:`, error);
    failed = true;
  }
}
const exported = results.filter(r => r.code === EXPORT_SUCCESS).reduce((sum, r) => sum + r.spans, 0);
for (const r of results.filter(r => r.code !== EXPORT_SUCCESS)) {
  console.error(`export of ${r.spans} spans failed: ${r.error ?? 'no error given'}`);
}
if (exported !== count) {
  console.error(`${exported} of ${count} spans acknowledged`);
  failed = true;
}
console.log(traceId);
process.exit(failed ? 1 : 0);
