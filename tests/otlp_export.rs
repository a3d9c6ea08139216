//! `OtlpSink` against collectors on loopback: one that is not there, one that fails before it
//! answers, and one that answers — the agent always finishes, failures are counted and
//! reported, retries deliver. (The end-to-end test against a real Phoenix server is
//! `tests/phoenix_e2e.rs`.)
#![cfg(feature = "otlp")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_trace::{OtlpSink, SessionTrace, SessionTracer, TracerContext, trace_agent, trace_tool_call};

#[trace_tool_call]
fn search(query: &str) -> Result<usize, std::io::Error> {
    Ok(query.len())
}

#[trace_agent]
fn act(turn: u32) -> usize {
    search("wood").unwrap_or(0) + turn as usize
}

fn episode(tracer: &SessionTracer) -> SessionTrace {
    let session = tracer.start_session();
    TracerContext::new(&session).sync_scope(|| {
        for turn in 0..3 {
            act(turn);
        }
    });
    session.end().unwrap()
}

/// A port on loopback where nothing listens.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_collector_that_is_not_there_never_stops_the_agent_and_the_failure_is_reported() {
    let port = closed_port();
    let sink = OtlpSink::builder()
        .endpoint(format!("http://127.0.0.1:{port}/v1/traces"))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let tracer = SessionTracer::builder().sink(sink).build();

    let trace = episode(&tracer); // the agent finishes
    assert_eq!(trace.events.len(), 6);
    let error = tracer.flush().unwrap_err().to_string();
    assert!(error.contains(&format!("127.0.0.1:{port}/v1/traces")), "{error}");

    let stats = tracer.stats();
    assert!(stats.write_errors >= 4, "every attempt is counted: {stats:?}");
    assert!(stats.retries >= 3, "{stats:?}");
    assert_eq!(stats.dropped_events, 6, "the session given up on is counted");
    let last = tracer.last_error().unwrap();
    assert!(last.contains(&port.to_string()), "{last}");

    // The next session is tried once, not four times, while the collector stays away.
    let before = tracer.stats().write_errors;
    episode(&tracer);
    assert!(tracer.flush().is_err());
    assert_eq!(
        tracer.stats().write_errors - before,
        2,
        "one attempt, and the flush reporting it"
    );
}

#[cfg(feature = "otlp-grpc")]
#[test]
fn over_grpc_too_a_missing_collector_is_reported_and_the_agent_finishes() {
    let port = closed_port();
    let sink = OtlpSink::builder()
        .grpc()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let tracer = SessionTracer::builder().sink(sink).build();
    assert_eq!(episode(&tracer).events.len(), 6);
    let error = tracer.flush().unwrap_err().to_string();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert_eq!(tracer.stats().dropped_events, 6);
}

/// What a collector saw of one request.
#[derive(Clone, Debug, Default)]
struct Request {
    path: String,
    content_type: String,
    team: String,
    length: usize,
}

/// A collector on loopback that answers `failures` requests with 503, then 200; it keeps
/// each request's path, content type, `x-team` header and body length.
struct Collector {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Collector {
    fn start(failures: usize) -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let answered = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let (seen, answered) = (Arc::clone(&seen), Arc::clone(&answered));
                std::thread::spawn(move || serve(stream.unwrap(), &seen, &answered, failures));
            }
        });
        Collector { port, requests }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/v1/traces", self.port)
    }
}

/// Serves one connection's requests (keep-alive) until the client closes it.
fn serve(stream: TcpStream, seen: &Mutex<Vec<Request>>, answered: &AtomicUsize, failures: usize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request = Request::default();
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        request.path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-type" => request.content_type = value.trim().to_owned(),
                "content-length" => request.length = value.trim().parse().unwrap(),
                "x-team" => request.team = value.trim().to_owned(),
                _ => {}
            }
        }
        let mut body = vec![0; request.length];
        reader.read_exact(&mut body).unwrap();
        seen.lock().unwrap().push(request);
        let status = if answered.fetch_add(1, Ordering::SeqCst) < failures {
            "503 Service Unavailable"
        } else {
            "200 OK"
        };
        write!(writer, "HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n").unwrap();
    }
}

#[test]
fn a_collector_that_fails_twice_then_answers_gets_the_session_with_retries_counted() {
    let collector = Collector::start(2);
    let sink = OtlpSink::builder()
        .endpoint(collector.endpoint())
        .project("tests")
        .build()
        .unwrap();
    let tracer = SessionTracer::builder().sink(sink).build();
    episode(&tracer);
    // The failures came before the success: the flush that follows reports the first.
    let error = tracer.flush().unwrap_err().to_string();
    assert!(error.contains("503"), "{error}");
    let stats = tracer.stats();
    assert_eq!((stats.retries, stats.dropped_events), (2, 0), "{stats:?}");

    let requests = collector.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(
            (request.path.as_str(), request.content_type.as_str()),
            ("/v1/traces", "application/x-protobuf")
        );
        assert!(
            request.length > 200,
            "a session's spans, not an empty body: {request:?}"
        );
    }

    // Now the collector answers: the next session goes through at once, and flush is clean.
    episode(&tracer);
    tracer.flush().unwrap();
    assert_eq!(collector.requests.lock().unwrap().len(), 4);
    assert_eq!(tracer.stats().dropped_events, 0);
}

#[test]
fn a_bad_endpoint_is_refused_when_the_sink_is_built() {
    let error = OtlpSink::builder().endpoint("not a url").build().unwrap_err();
    assert!(error.to_string().contains("not a url"), "{error}");
}

const ENV_CHILD: &str = "AGENT_TRACE_OTLP_ENV_CHILD";

/// The child half of the test below: a sink configured by the environment alone.
#[test]
fn configured_from_the_environment_child() {
    if std::env::var_os(ENV_CHILD).is_none() {
        return;
    }
    let sink = OtlpSink::builder().build().unwrap();
    let base = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap();
    assert_eq!(sink.endpoint(), format!("{base}/v1/traces"));
    let tracer = SessionTracer::builder().sink(sink).build();
    episode(&tracer);
    tracer.flush().unwrap();
}

#[test]
fn the_standard_variables_set_the_endpoint_and_headers() {
    let collector = Collector::start(0);
    // A child process, so that the variables are set before anything reads them.
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "configured_from_the_environment_child", "--nocapture"])
        .env(ENV_CHILD, "1")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", collector.port),
        )
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-team=agents")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "3000")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        .status()
        .unwrap();
    assert!(status.success());
    let requests = collector.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        (requests[0].path.as_str(), requests[0].team.as_str()),
        ("/v1/traces", "agents")
    );
}
