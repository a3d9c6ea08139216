//! [`OtlpSink`]: sessions exported as OpenTelemetry traces over OTLP/HTTP (protobuf).

mod convert;
mod export;

use std::collections::HashMap;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanExporter as _;
use trace_core::SessionTrace;
use trace_core::otel::Content;

use self::export::{ExportThread, Job, Runtime, Tally};
use crate::error::SinkError;
use crate::sink::Sink;
use crate::sink::SinkReport;
use crate::sync::lock;

const DEFAULT_ENDPOINT: &str = "http://localhost:4318/v1/traces";
#[cfg(feature = "otlp-grpc")]
const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_SERVICE: &str = "agent-trace";
const PROJECT_KEY: &str = "openinference.project.name";

/// Exports every ended session as an OpenTelemetry trace over OTLP/HTTP with protobuf
/// bodies — what Arize Phoenix, Langfuse, Jaeger, Tempo and the OpenTelemetry Collector
/// accept. Feature `otlp`. The spans and their attributes are those of
/// [`otel::session_spans`](trace_core::otel::session_spans) (see `docs/otlp.md`).
///
/// Export runs on a thread of the sink's own, so a slow or absent collector never holds
/// up the tracer or the agent: a failed export is retried (four attempts with backoff while
/// the collector answers, one while it does not), every failure is counted in the tracer's
/// `stats().write_errors` and shown by `last_error()`, and a session given up on (or that
/// finds the backlog full) is counted in `stats().dropped_events`. `tracer.flush()` waits
/// for the export of what was recorded before it, and returns the first failure.
///
/// Configuration comes from code, else from the standard variables:
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as given),
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended), else `http://localhost:4318/v1/traces`;
/// `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS` (added to the headers
/// set in code); `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` / `OTEL_EXPORTER_OTLP_TIMEOUT` in
/// milliseconds (default 10 s); `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` for the
/// resource. The resource carries `service.name` (default `agent-trace`) and
/// `openinference.project.name` (the project, default the service name), which is where
/// Phoenix files the traces.
///
/// ```no_run
/// use agent_trace::{OtlpSink, SessionTracer};
/// let sink = OtlpSink::builder()
///     .endpoint("http://127.0.0.1:6006/v1/traces")
///     .project("my-agent")
///     .build()?;
/// let tracer = SessionTracer::builder().sink(sink).build();
/// # Ok::<(), agent_trace::sink::SinkError>(())
/// ```
pub struct OtlpSink {
    endpoint: String,
    scope: InstrumentationScope,
    content: Content,
    jobs: Option<SyncSender<Job>>,
    tally: Arc<Mutex<Tally>>,
    flush_timeout: Duration,
    /// Told when the export thread ends, so that dropping the sink waits a bounded time.
    finished: mpsc::Receiver<()>,
}

/// Configures an [`OtlpSink`]; from [`OtlpSink::builder`].
#[derive(Debug, Default, Clone)]
pub struct OtlpSinkBuilder {
    endpoint: Option<String>,
    headers: HashMap<String, String>,
    service: Option<String>,
    project: Option<String>,
    timeout: Option<Duration>,
    backlog: Option<usize>,
    content: Option<Content>,
    #[cfg(feature = "otlp-grpc")]
    grpc: bool,
}

impl OtlpSinkBuilder {
    /// The collector's traces URL, used as given (include the path: `…/v1/traces`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// A header sent with every export (an API key, say).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// The resource's `service.name`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service = Some(name.into());
        self
    }

    /// The resource's `openinference.project.name`: the project Phoenix files traces in.
    pub fn project(mut self, name: impl Into<String>) -> Self {
        self.project = Some(name.into());
        self
    }

    /// How long one export request may take before it counts as failed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many sessions may wait for export (default 256); past that a session's spans
    /// are dropped and counted rather than holding anything up.
    pub fn backlog(mut self, sessions: usize) -> Self {
        self.backlog = Some(sessions.max(1));
        self
    }

    /// What of the captured content the spans carry (inputs, outputs, chat messages of
    /// either convention). Without it, [`Content::from_env`]: the default, changed by
    /// `OPENINFERENCE_HIDE_INPUTS`, `OPENINFERENCE_HIDE_OUTPUTS` and
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, read when the sink is built.
    pub fn content(mut self, content: Content) -> Self {
        self.content = Some(content);
        self
    }

    /// Exports over OTLP/gRPC (without TLS) instead of HTTP; the endpoint is then the
    /// collector's address, such as `http://localhost:4317` (the default). Feature
    /// `otlp-grpc`. `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL` set
    /// to `grpc` choose it too.
    #[cfg(feature = "otlp-grpc")]
    pub fn grpc(mut self) -> Self {
        self.grpc = true;
        self
    }

    #[cfg(feature = "otlp-grpc")]
    fn uses_grpc(&self) -> bool {
        self.grpc
            || ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]
                .into_iter()
                .find_map(|name| std::env::var(name).ok())
                .is_some_and(|protocol| protocol.trim() == "grpc")
    }

    #[cfg(not(feature = "otlp-grpc"))]
    fn uses_grpc(&self) -> bool {
        false
    }

    /// Starts the sink's export thread and its client.
    pub fn build(self) -> Result<OtlpSink, SinkError> {
        let grpc = self.uses_grpc();
        let endpoint = self.endpoint.clone().unwrap_or_else(|| endpoint_from_env(grpc));
        let timeout = self.timeout.or_else(timeout_from_env).unwrap_or(DEFAULT_TIMEOUT);
        let failed = |message: String| SinkError::Export {
            endpoint: endpoint.clone(),
            message,
        };
        let resource = self.resource();
        let content = self.content.unwrap_or_else(Content::from_env);
        let (jobs, queue) = mpsc::sync_channel(self.backlog.unwrap_or(256));
        let (built, outcome) = mpsc::channel();
        let (finish, finished) = mpsc::channel();
        let tally = Arc::new(Mutex::new(Tally::default()));
        let thread_tally = Arc::clone(&tally);
        let (thread_endpoint, headers) = (endpoint.clone(), self.headers);
        std::thread::Builder::new()
            .name("agent-trace-otlp".into())
            .spawn(move || {
                // The blocking HTTP client is made (and dropped) on this thread, never on
                // a caller's async runtime.
                let transport = Transport {
                    endpoint: thread_endpoint,
                    headers,
                    timeout,
                    grpc,
                };
                match transport.exporter(&resource) {
                    Ok((exporter, runtime)) => {
                        let _ = built.send(Ok(()));
                        ExportThread {
                            exporter,
                            runtime,
                            jobs: queue,
                            tally: thread_tally,
                            degraded: false,
                        }
                        .run();
                    }
                    Err(message) => {
                        let _ = built.send(Err(message));
                    }
                }
                let _ = finish.send(());
            })
            .map_err(|error| failed(format!("cannot start the export thread: {error}")))?;
        match outcome.recv() {
            Ok(Ok(())) => {}
            Ok(Err(message)) => return Err(failed(message)),
            Err(_) => return Err(failed("the export thread died while starting".to_owned())),
        }
        Ok(OtlpSink {
            endpoint,
            scope: InstrumentationScope::builder("agent-trace")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
            content,
            jobs: Some(jobs),
            tally,
            // Every attempt of a batch, and its backoff, with room to spare.
            flush_timeout: timeout * (export::ATTEMPTS + 1) + Duration::from_secs(2),
            finished,
        })
    }

    fn resource(&self) -> Resource {
        // What the environment says (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`).
        let detected = Resource::builder().build();
        let service = self
            .service
            .clone()
            .or_else(|| {
                detected
                    .get(&opentelemetry::Key::from_static_str("service.name"))
                    .map(|value| value.to_string())
                    .filter(|name| !name.starts_with("unknown_service"))
            })
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        let project = self.project.clone().or_else(|| {
            detected
                .get(&opentelemetry::Key::from_static_str(PROJECT_KEY))
                .map(|value| value.to_string())
        });
        Resource::builder()
            .with_service_name(service.clone())
            .with_attribute(KeyValue::new(PROJECT_KEY, project.unwrap_or(service)))
            .build()
    }
}

/// How the export thread reaches the collector.
struct Transport {
    endpoint: String,
    headers: HashMap<String, String>,
    timeout: Duration,
    grpc: bool,
}

impl Transport {
    /// The exporter, and for gRPC the runtime its client runs on.
    fn exporter(self, resource: &Resource) -> Result<(opentelemetry_otlp::SpanExporter, Option<Runtime>), String> {
        let mut exporter = if self.grpc {
            return self.grpc_exporter(resource);
        } else {
            self.http_exporter()?
        };
        exporter.set_resource(resource);
        Ok((exporter, None))
    }

    fn http_exporter(self) -> Result<opentelemetry_otlp::SpanExporter, String> {
        let client = reqwest::blocking::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_endpoint(self.endpoint)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_timeout(self.timeout)
            .with_headers(self.headers)
            // Retries are the export thread's, so that each one is counted in the stats.
            .with_retry_policy(opentelemetry_otlp::RetryPolicy::disabled())
            .build()
            .map_err(|error| format!("cannot build the exporter: {error}"))
    }

    #[cfg(feature = "otlp-grpc")]
    fn grpc_exporter(self, resource: &Resource) -> Result<(opentelemetry_otlp::SpanExporter, Option<Runtime>), String> {
        use opentelemetry_otlp::WithTonicConfig;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the gRPC client's runtime: {error}"))?;
        let mut metadata = tonic::metadata::MetadataMap::new();
        for (name, value) in &self.headers {
            let key = tonic::metadata::MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("header name {name:?} is not valid gRPC metadata"))?;
            let value = value
                .parse()
                .map_err(|_| format!("the value of header {name:?} is not valid gRPC metadata"))?;
            metadata.insert(key, value);
        }
        let mut exporter = {
            // The channel is made inside the runtime it will run on.
            let _entered = runtime.enter();
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(self.endpoint)
                .with_timeout(self.timeout)
                .with_metadata(metadata)
                .with_retry_policy(opentelemetry_otlp::RetryPolicy::disabled())
                .build()
                .map_err(|error| format!("cannot build the exporter: {error}"))?
        };
        exporter.set_resource(resource);
        Ok((exporter, Some(runtime)))
    }

    #[cfg(not(feature = "otlp-grpc"))]
    fn grpc_exporter(self, _: &Resource) -> Result<(opentelemetry_otlp::SpanExporter, Option<Runtime>), String> {
        Err("gRPC export needs the feature `otlp-grpc`".to_owned())
    }
}

fn endpoint_from_env(grpc: bool) -> String {
    let set = |name| {
        std::env::var(name)
            .ok()
            .filter(|value: &String| !value.trim().is_empty())
    };
    if let Some(endpoint) = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return endpoint;
    }
    #[cfg(feature = "otlp-grpc")]
    if grpc {
        return set("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_else(|| DEFAULT_GRPC_ENDPOINT.to_owned());
    }
    let _ = grpc;
    set("OTEL_EXPORTER_OTLP_ENDPOINT")
        .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
}

fn timeout_from_env() -> Option<Duration> {
    ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok()?.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
}

impl OtlpSink {
    /// Starts configuring a sink.
    pub fn builder() -> OtlpSinkBuilder {
        OtlpSinkBuilder::default()
    }

    /// Where the spans go.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn failed(&self, message: impl Into<String>) -> SinkError {
        SinkError::Export {
            endpoint: self.endpoint.clone(),
            message: message.into(),
        }
    }
}

impl std::fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpSink")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Sink for OtlpSink {
    fn name(&self) -> &str {
        "otlp"
    }

    /// Hands the session's spans to the export thread; never waits for the collector.
    fn write_session(&mut self, trace: &SessionTrace) -> Result<(), SinkError> {
        let jobs = self.jobs.as_ref().ok_or_else(|| self.failed("the sink is closed"))?;
        let job = Job::Spans {
            spans: convert::spans_of(trace, &self.content, &self.scope),
            events: trace.events.len(),
        };
        match jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                let mut tally = lock(&self.tally);
                tally.unreported.dropped_events += trace.events.len() as u64;
                tally.fail(format!(
                    "the export backlog is full: dropped session {} ({} events)",
                    trace.session_id,
                    trace.events.len()
                ));
                Ok(())
            }
            Err(TrySendError::Disconnected(_)) => Err(self.failed("the export thread has stopped")),
        }
    }

    /// Waits until every session handed over before has been exported or given up on.
    fn flush(&mut self) -> Result<(), SinkError> {
        let jobs = self.jobs.as_ref().ok_or_else(|| self.failed("the sink is closed"))?;
        let (reply, answer) = mpsc::channel();
        jobs.send(Job::Flush(reply))
            .map_err(|_| self.failed("the export thread has stopped"))?;
        match answer.recv_timeout(self.flush_timeout) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(self.failed(message)),
            Err(_) => Err(self.failed(format!(
                "still exporting after {:.1} s",
                self.flush_timeout.as_secs_f64()
            ))),
        }
    }

    fn take_report(&mut self) -> SinkReport {
        std::mem::take(&mut lock(&self.tally).unreported)
    }
}

impl Drop for OtlpSink {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has worked through what is queued;
        // wait for that a bounded time (a collector that hangs must not hang the program).
        drop(self.jobs.take());
        let _ = self.finished.recv_timeout(self.flush_timeout);
    }
}
